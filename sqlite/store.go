package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/health"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

var (
	_ chat.Store  = (*Store)(nil)
	_ chat.Health = (*Store)(nil)
)

// Stable event codes of the availability log lines; dashboards and alerts match on them.
const (
	// EventUnavailable is logged with "sqlite status changed to UNAVAILABLE".
	EventUnavailable = "CHATHA-SQLITE-001"
	// EventAvailable is logged with "sqlite status changed to AVAILABLE".
	EventAvailable = "CHATHA-SQLITE-002"
)

// ErrClosed is returned by writes on a closed Store.
var ErrClosed = errors.New("sqlite store is closed")

// schema creates the tables. A chat's session row carries its expiry: its
// last write plus the TTL, moved on by every append, so a chat in use never
// expires; its records and files expire with it. Claims of create request
// ids expire TTL after the create. A final transcript expires when its
// retention says (expires_at), or never (NULL). Files are blobs in a rowid
// table of their own, which SQLite keeps in overflow pages out of the way of
// the small rows. The outbox holds final transcripts waiting for the archive
// webhook; endings marks the chats whose end is being stored; userdata maps indexed userData values to chats, each entry kept
// while the chat or its transcript is (expires_at, NULL: as long as the
// transcript).
const schema = `
CREATE TABLE IF NOT EXISTS sessions (
	chat_id    TEXT PRIMARY KEY,
	service    TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	data       BLOB NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS events (
	chat_id    TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	request_id TEXT NOT NULL,
	data       BLOB NOT NULL,
	PRIMARY KEY (chat_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
	chat_id TEXT NOT NULL,
	file_id TEXT NOT NULL,
	data    BLOB NOT NULL,
	PRIMARY KEY (chat_id, file_id)
);
CREATE TABLE IF NOT EXISTS claims (
	request_id TEXT PRIMARY KEY,
	chat_id    TEXT NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS claims_expiry ON claims (expires_at);
CREATE INDEX IF NOT EXISTS claims_chat ON claims (chat_id);
CREATE TABLE IF NOT EXISTS transcripts (
	chat_id    TEXT PRIMARY KEY,
	data       BLOB NOT NULL,
	saved_at   INTEGER NOT NULL,
	expires_at INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
	chat_id  TEXT PRIMARY KEY,
	data     BLOB NOT NULL,
	due      INTEGER NOT NULL,
	lease    TEXT NOT NULL,
	attempts INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (due);
CREATE TABLE IF NOT EXISTS endings (
	chat_id  TEXT PRIMARY KEY,
	due      INTEGER NOT NULL,
	attempts INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS endings_due ON endings (due);
CREATE TABLE IF NOT EXISTS userdata (
	key        TEXT NOT NULL,
	value      TEXT NOT NULL,
	chat_id    TEXT NOT NULL,
	expires_at INTEGER,
	PRIMARY KEY (key, value, chat_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS userdata_chat ON userdata (chat_id);
CREATE INDEX IF NOT EXISTS userdata_expiry ON userdata (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS probe (
	id INTEGER PRIMARY KEY,
	at INTEGER NOT NULL
);`

// perRecordExpiry finds a file written before expiry ran from a chat's last
// write, when each record carried its own.
const perRecordExpiry = `SELECT count(*) FROM pragma_table_info('events') WHERE name = 'expires_at'`

// migrateExpiry moves such a file to one expiry per chat: the records' column
// goes, and every live chat gets a whole TTL from now.
const migrateExpiry = `
DROP INDEX IF EXISTS events_expiry;
ALTER TABLE events DROP COLUMN expires_at;
UPDATE sessions SET expires_at = max(expires_at, ?);`

// transcriptExpiry finds whether final transcripts have an expiry; files
// written before transcript-retention have none, and every transcript in
// them is kept for ever.
const transcriptExpiry = `SELECT count(*) FROM pragma_table_info('transcripts') WHERE name = 'expires_at'`

// addTranscriptExpiry gives transcripts their expiry, and indexes it.
const addTranscriptExpiry = `ALTER TABLE transcripts ADD COLUMN expires_at INTEGER`

// transcriptExpiryIndex is created once the column is there.
const transcriptExpiryIndex = `CREATE INDEX IF NOT EXISTS transcripts_expiry ON transcripts (expires_at) WHERE expires_at IS NOT NULL`

// Store is the embedded chat.Store. It is safe for concurrent use.
type Store struct {
	cfg   Config
	w     *sql.DB // one connection: the committer's and the sweeper's
	r     *sql.DB // readers
	ins   *sql.Stmt
	touch *sql.Stmt

	watch  *health.Watch
	writes chan *write
	stop   chan struct{}
	parked chan struct{} // closed when the committer has stopped: it takes no more writes
	wg     sync.WaitGroup
	once   sync.Once
}

// write is one all-or-nothing unit of a group commit.
type write struct {
	fn   func(tx *sql.Tx) error
	done chan error
}

// Open opens (and creates if needed) the database and starts the committer.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the folder of %s: %w", cfg.Path, err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Store{cfg: cfg, writes: make(chan *write, 4*cfg.MaxBatch), stop: make(chan struct{}), parked: make(chan struct{})}
	var err error
	s.watch, err = health.New(health.Config{Name: "sqlite", Probe: s.probe, Interval: cfg.ProbeInterval, Timeout: cfg.BusyTimeout + time.Second,
		Logger: cfg.Logger, EventUnavailable: EventUnavailable, EventAvailable: EventAvailable})
	if err != nil {
		return nil, err
	}
	if err := s.open(); err != nil {
		s.closeDBs()
		return nil, err
	}
	s.wg.Add(2)
	go s.commitLoop()
	go s.sweepLoop()
	go s.watch.Run()
	return s, nil
}

// Available reports whether the last probe could write to the database.
// Probes run every ProbeInterval, and at once after a failed commit, so a
// full disk or an unwritable file is seen within a probe, and so is its
// recovery, whether or not anything else is written meanwhile.
func (s *Store) Available() bool { return s.watch.Available() }

// probe commits one small write through the committer, as appends are.
func (s *Store) probe(ctx context.Context) error {
	return s.submit(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT OR REPLACE INTO probe (id, at) VALUES (1, ?)`, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("cannot write the probe row: %w", err)
		}
		return nil
	})
}

func (s *Store) open() error {
	dsn := fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(%s)&_txlock=immediate",
		s.cfg.Path, s.cfg.BusyTimeout.Milliseconds(), s.cfg.Synchronous)
	var err error
	if s.w, err = sql.Open("sqlite", dsn); err != nil {
		return fmt.Errorf("cannot open %s: %w", s.cfg.Path, err)
	}
	s.w.SetMaxOpenConns(1)
	if err := s.inTx(s.createSchema); err != nil {
		return fmt.Errorf("cannot create the schema in %s: %w", s.cfg.Path, err)
	}
	// Readers take no write lock: their transactions are read snapshots.
	if s.r, err = sql.Open("sqlite", strings.TrimSuffix(dsn, "&_txlock=immediate")); err != nil {
		return fmt.Errorf("cannot open %s: %w", s.cfg.Path, err)
	}
	s.r.SetMaxOpenConns(4)
	if s.ins, err = s.w.Prepare(`INSERT OR IGNORE INTO events (chat_id, seq, request_id, data) VALUES (?, ?, ?, ?)`); err != nil {
		return fmt.Errorf("cannot prepare the append: %w", err)
	}
	if s.touch, err = s.w.Prepare(`UPDATE sessions SET expires_at = ? WHERE chat_id = ? AND expires_at >= ?`); err != nil {
		return fmt.Errorf("cannot prepare the expiry update: %w", err)
	}
	return nil
}

// createSchema creates the tables, and migrates a file of an earlier
// version: records that expired one by one, transcripts without an expiry.
// Every process that opens the file runs it, one at a time.
func (s *Store) createSchema(tx *sql.Tx) error {
	if _, err := tx.Exec(schema); err != nil {
		return err
	}
	if err := s.migrateTranscripts(tx); err != nil {
		return err
	}
	var old int
	if err := tx.QueryRow(perRecordExpiry).Scan(&old); err != nil || old == 0 {
		return err
	}
	if _, err := tx.Exec(migrateExpiry, s.expiry()); err != nil {
		return fmt.Errorf("cannot move expiry to one per chat: %w", err)
	}
	s.cfg.Logger.Info("sqlite store migrated: chats now expire TTL after their last write", "path", s.cfg.Path)
	return nil
}

// migrateTranscripts adds the transcripts' expiry to a file that lacks it
// (its transcripts keep no expiry: kept for ever, as they were saved), and
// its index.
func (s *Store) migrateTranscripts(tx *sql.Tx) error {
	var has int
	if err := tx.QueryRow(transcriptExpiry).Scan(&has); err != nil {
		return err
	}
	if has == 0 {
		if _, err := tx.Exec(addTranscriptExpiry); err != nil {
			return fmt.Errorf("cannot add an expiry to transcripts: %w", err)
		}
		s.cfg.Logger.Info("sqlite store migrated: final transcripts can expire (transcript-retention); those saved before are kept", "path", s.cfg.Path)
	}
	_, err := tx.Exec(transcriptExpiryIndex)
	return err
}

// Close stops the watch, the committer and the sweeper and closes the database.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.watch.Close()
		close(s.stop)
	})
	s.wg.Wait()
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	var errs []error
	for _, db := range []*sql.DB{s.r, s.w} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// expiry is the expiry of a chat written now.
func (s *Store) expiry() int64 { return time.Now().Add(s.cfg.TTL).UnixMilli() }

// Create implements chat.Creator.
func (s *Store) Create(ctx context.Context, row chat.SessionRow, first []chat.Record) error {
	return s.submit(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT OR IGNORE INTO sessions (chat_id, service, created_at, data, expires_at) VALUES (?, ?, ?, ?, ?)`,
			row.ChatID, row.Service, row.CreatedAt.UnixMilli(), row.Data, s.expiry())
		if err != nil {
			return fmt.Errorf("cannot create chat %s: %w", row.ChatID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("cannot create chat %s: %w", row.ChatID, chat.ErrChatExists)
		}
		return s.insert(tx, row.ChatID, first)
	})
}

// Claim implements chat.Claimer.
func (s *Store) Claim(ctx context.Context, requestID, chatID string) (string, error) {
	owner := chatID
	err := s.submit(ctx, func(tx *sql.Tx) error {
		now := time.Now().UnixMilli()
		err := tx.QueryRow(`SELECT chat_id FROM claims WHERE request_id = ? AND expires_at >= ?`, requestID, now).Scan(&owner)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("cannot read the claim of request %s: %w", requestID, err)
		}
		owner = chatID
		_, err = tx.Exec(`INSERT OR REPLACE INTO claims (request_id, chat_id, expires_at) VALUES (?, ?, ?)`, requestID, chatID, s.expiry())
		if err != nil {
			return fmt.Errorf("cannot claim request %s for chat %s: %w", requestID, chatID, err)
		}
		return nil
	})
	return owner, err
}

// Append implements chat.Appender: it moves the chat's expiry to TTL from
// now, and fails with ErrUnknownChat if the chat has ended or expired.
func (s *Store) Append(ctx context.Context, chatID string, recs []chat.Record) error {
	return s.submit(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		res, err := tx.Stmt(s.touch).Exec(now.Add(s.cfg.TTL).UnixMilli(), chatID, now.UnixMilli())
		if err != nil {
			return fmt.Errorf("cannot append to chat %s: %w", chatID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("cannot append to chat %s: %w", chatID, chat.ErrUnknownChat)
		}
		return s.insert(tx, chatID, recs)
	})
}

// insert stores recs, failing with ErrSeqTaken if any seq is already there.
func (s *Store) insert(tx *sql.Tx, chatID string, recs []chat.Record) error {
	ins := tx.Stmt(s.ins)
	for _, r := range recs {
		res, err := ins.Exec(chatID, int64(r.Seq), r.RequestID, r.Data)
		if err != nil {
			return fmt.Errorf("cannot append record %d of chat %s: %w", r.Seq, chatID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("cannot append record %d of chat %s: %w", r.Seq, chatID, chat.ErrSeqTaken)
		}
	}
	return nil
}

// Load implements chat.Loader.
func (s *Store) Load(ctx context.Context, chatID string) (chat.SessionRow, []chat.Record, error) {
	row := chat.SessionRow{ChatID: chatID}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return row, nil, fmt.Errorf("cannot load chat %s: %w", chatID, err)
	}
	defer tx.Rollback()
	var created int64
	err = tx.QueryRowContext(ctx, `SELECT service, created_at, data FROM sessions WHERE chat_id = ? AND expires_at >= ?`, chatID, time.Now().UnixMilli()).
		Scan(&row.Service, &created, &row.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return row, nil, fmt.Errorf("cannot load chat %s: %w", chatID, chat.ErrUnknownChat)
	}
	if err != nil {
		return row, nil, fmt.Errorf("cannot load chat %s: %w", chatID, err)
	}
	row.CreatedAt = time.UnixMilli(created).UTC()
	recs, err := queryRows(ctx, tx, func(rows *sql.Rows) (chat.Record, error) {
		var r chat.Record
		var seq int64
		err := rows.Scan(&seq, &r.RequestID, &r.Data)
		r.Seq = uint64(seq)
		return r, err
	}, `SELECT seq, request_id, data FROM events WHERE chat_id = ? ORDER BY seq`, chatID)
	if err != nil {
		return row, nil, fmt.Errorf("cannot load the records of chat %s: %w", chatID, err)
	}
	return row, recs, nil
}

// querier runs a query: a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryRows runs query on db and reads each row of its result with scan.
func queryRows[T any](ctx context.Context, db querier, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanString reads a row of one text column.
func scanString(rows *sql.Rows) (string, error) {
	var v string
	err := rows.Scan(&v)
	return v, err
}

// SaveTranscript implements chat.Finisher: the transcript with its expiry
// (none for a Retention of 0), its outbox entry with f.Deliver (an entry
// already there is kept as it is, lease and all), and the expiry of the
// chat's userData index entries set to the transcript's, in one transaction.
func (s *Store) SaveTranscript(ctx context.Context, f chat.Final) error {
	return s.submit(ctx, func(tx *sql.Tx) error {
		_, err := storeFinal(tx, f, `INSERT OR REPLACE`)
		return err
	})
}

// storeFinal writes f's transcript with insert (INSERT OR REPLACE, or INSERT
// OR IGNORE to keep one already there), and when it wrote it, the expiry of
// the chat's index entries and, with f.Deliver, its outbox entry (one there
// is kept as it is, lease and all). It reports whether it wrote the transcript.
func storeFinal(tx *sql.Tx, f chat.Final, insert string) (bool, error) {
	now := time.Now()
	var expires any // NULL: kept for ever
	if f.Retention > 0 {
		expires = now.Add(f.Retention).UnixMilli()
	}
	res, err := tx.Exec(insert+` INTO transcripts (chat_id, data, saved_at, expires_at) VALUES (?, ?, ?, ?)`,
		f.ChatID, f.Data, now.UnixMilli(), expires)
	if err != nil {
		return false, fmt.Errorf("cannot save the transcript of chat %s: %w", f.ChatID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if _, err := tx.Exec(`UPDATE userdata SET expires_at = ? WHERE chat_id = ?`, expires, f.ChatID); err != nil {
		return false, fmt.Errorf("cannot keep the index entries of chat %s with its transcript: %w", f.ChatID, err)
	}
	if !f.Deliver {
		return true, nil
	}
	_, err = tx.Exec(`INSERT OR IGNORE INTO outbox (chat_id, data, due, lease, attempts) VALUES (?, ?, ?, '', 0)`,
		f.ChatID, f.Data, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("cannot queue the transcript of chat %s for delivery: %w", f.ChatID, err)
	}
	return true, nil
}

// Delete implements chat.Finisher.
func (s *Store) Delete(ctx context.Context, chatID string) error {
	return s.submit(ctx, func(tx *sql.Tx) error { return deleteLive(tx, chatID) })
}

// deleteLive deletes a chat's live rows: its records, files and session.
func deleteLive(tx *sql.Tx, chatID string) error {
	if _, err := tx.Exec(`DELETE FROM events WHERE chat_id = ?`, chatID); err != nil {
		return fmt.Errorf("cannot delete the records of chat %s: %w", chatID, err)
	}
	if _, err := tx.Exec(`DELETE FROM files WHERE chat_id = ?`, chatID); err != nil {
		return fmt.Errorf("cannot delete the files of chat %s: %w", chatID, err)
	}
	if _, err := tx.Exec(`DELETE FROM sessions WHERE chat_id = ?`, chatID); err != nil {
		return fmt.Errorf("cannot delete chat %s: %w", chatID, err)
	}
	return nil
}

// Transcript implements chat.TranscriptReader.
func (s *Store) Transcript(ctx context.Context, chatID string) ([]byte, error) {
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM transcripts WHERE chat_id = ? AND (expires_at IS NULL OR expires_at >= ?)`,
		chatID, time.Now().UnixMilli()).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("no transcript of chat %s: %w", chatID, chat.ErrUnknownChat)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the transcript of chat %s: %w", chatID, err)
	}
	return data, nil
}

// RecordTTL returns how long record seq of a chat has left before it
// expires: the chat's expiry, for its records go with it.
func (s *Store) RecordTTL(ctx context.Context, chatID string, seq uint64) (time.Duration, error) {
	var exp int64
	err := s.r.QueryRowContext(ctx, `SELECT s.expires_at FROM sessions s JOIN events e ON e.chat_id = s.chat_id WHERE s.chat_id = ? AND e.seq = ?`,
		chatID, int64(seq)).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("no record %d of chat %s: %w", seq, chatID, chat.ErrUnknownChat)
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read the expiry of record %d of chat %s: %w", seq, chatID, err)
	}
	return time.Until(time.UnixMilli(exp)), nil
}
