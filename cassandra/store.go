package cassandra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/gocql/gocql"

	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/health"
)

var (
	_ chat.Store  = (*Store)(nil)
	_ chat.Health = (*Store)(nil)
)

// Stable event codes of the availability log lines; dashboards and alerts match on them.
const (
	// EventUnavailable is logged with "cassandra status changed to UNAVAILABLE".
	EventUnavailable = "CHATHA-CASS-001"
	// EventAvailable is logged with "cassandra status changed to AVAILABLE".
	EventAvailable = "CHATHA-CASS-002"
)

// newWatch returns the availability watch of a store with cfg, not yet running.
func newWatch(probe func(context.Context) error, cfg Config, logger *slog.Logger) (*health.Watch, error) {
	return health.New(health.Config{Name: "cassandra", Probe: probe, Interval: cfg.ProbeInterval, Timeout: 2 * cfg.RequestTimeout,
		Logger: logger, EventUnavailable: EventUnavailable, EventAvailable: EventAvailable})
}

// loadPageSize is the number of records a restore reads per round trip. Each page is a
// Paxos read, so large pages make restore fast; a chat rarely has more records.
const loadPageSize = 5000

// Store is the Cassandra implementation of chat.Store. It is safe for concurrent use.
type Store struct {
	cfg     Config
	logger  *slog.Logger
	session *gocql.Session
	q       queries
	watch   *health.Watch
	once    sync.Once // guards the shutdown in Close
}

// New connects to Cassandra, creates the schema when cfg.CreateSchema, checks the tables
// exist and starts the availability watch. logger may be nil.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cc, err := clusterConfig(cfg, logger.With("component", "gocql"))
	if err != nil {
		return nil, fmt.Errorf("cannot configure cassandra client: %w", err)
	}
	logger = logger.With("component", "cassandra")
	session, err := connect(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to cassandra at %s port %d: %w", strings.Join(cfg.Hosts, ","), cfg.Port, err)
	}
	s := &Store{cfg: cfg, logger: logger, session: session, q: newQueries(cfg.Keyspace, cfg.TTL)}
	if err := s.prepareSchema(ctx); err != nil {
		session.Close()
		return nil, err
	}
	if s.watch, err = newWatch(s.probe, cfg, logger); err != nil {
		session.Close()
		return nil, err
	}
	s.checkCommitLog(ctx)
	go s.watch.Run()
	logger.Info("cassandra store ready", "hosts", strings.Join(cfg.Hosts, ","), "keyspace", cfg.Keyspace,
		"consistency", cfg.Consistency.String(), "serial", serialName(cfg.SerialConsistency))
	return s, nil
}

// connect creates a gocql session, giving up when ctx ends.
func connect(ctx context.Context, cc *gocql.ClusterConfig) (*gocql.Session, error) {
	type result struct {
		s   *gocql.Session
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := cc.CreateSession()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-ctx.Done():
		go func() { // close the session should it still come up
			if r := <-ch; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// prepareSchema creates the schema if asked to, then checks the tables are there.
func (s *Store) prepareSchema(ctx context.Context) error {
	ks := s.cfg.Keyspace
	if s.cfg.CreateSchema {
		for _, st := range schemaStatements(Schema(ks, s.cfg.Replication, s.cfg.TTL)) {
			if err := s.session.Query(st).WithContext(ctx).Exec(); err != nil {
				return fmt.Errorf("cannot create schema of keyspace %s (%.40s...): %w", ks, st, err)
			}
		}
	}
	// system_schema, not gocql's metadata cache: the cache may predate the tables just created.
	iter := s.session.Query("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", ks).
		WithContext(ctx).Consistency(gocql.One).Iter()
	found := map[string]bool{}
	var name string
	for iter.Scan(&name) {
		found[name] = true
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("cannot read the tables of keyspace %s: %w", ks, err)
	}
	for _, t := range []string{"chats", "claims", "transcripts", "files", "outbox", "endings", "userdata", "userdata_by_chat"} {
		if !found[t] {
			return fmt.Errorf("cannot find table %s.%s (create it from deploy/cassandra/schema.cql, whose statements only add what is missing, or with create=true; a keyspace of a version before the chats table needs the new schema)", ks, t)
		}
	}
	return nil
}

// Create writes a new chat with one conditional batch on its partition: the session in the
// static columns and the first records, each inserted IF NOT EXISTS, so the chat is
// written whole or not at all. It fails with ErrChatExists if record 1 exists.
func (s *Store) Create(ctx context.Context, row chat.SessionRow, first []chat.Record) error {
	if len(first) == 0 {
		return fmt.Errorf("cannot create chat %q: no first record", row.ChatID)
	}
	if err := checkSeqs(first, 1); err != nil {
		return fmt.Errorf("cannot create chat %q: %w", row.ChatID, err)
	}
	err := s.cas(ctx, s.createCAS(row, first))
	if errors.Is(err, errNotApplied) {
		return fmt.Errorf("cannot create chat %q: %w", row.ChatID, chat.ErrChatExists)
	}
	if err != nil {
		return fmt.Errorf("cannot create chat %q: %w", row.ChatID, err)
	}
	return nil
}

// Claim implements chat.Claimer with an LWT on the claims table: INSERT IF NOT EXISTS,
// and the chat id already there when it was not applied.
func (s *Store) Claim(ctx context.Context, requestID, chatID string) (string, error) {
	owner := chatID
	err := s.retry(ctx, func(ctx context.Context) error {
		prev := map[string]any{}
		applied, err := s.session.Query(s.q.insertClaim, requestID, chatID).WithContext(ctx).MapScanCAS(prev)
		if err != nil || applied {
			return err
		}
		id, ok := prev["chat_id"].(string)
		if !ok || id == "" {
			return fmt.Errorf("claim of request %q holds no chat id", requestID)
		}
		owner = id
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("cannot claim request %q for chat %q: %w", requestID, chatID, err)
	}
	return owner, nil
}

// Append stores recs with one conditional batch: INSERT ... IF NOT EXISTS for each, all
// in the chat's partition, so all of them are stored or none, and last_write with a fresh
// TTL, on condition that the chat is live and its cells were refreshed less than half a
// TTL ago. Each record is one row: the bytes written per message do not grow with the
// transcript. When the refresh is due, Append writes the chat's cells again (refresh)
// and tries once more.
func (s *Store) Append(ctx context.Context, chatID string, recs []chat.Record) error {
	if len(recs) == 0 {
		return nil
	}
	from, to := recs[0].Seq, recs[len(recs)-1].Seq
	if err := checkSeqs(recs, 0); err != nil {
		return fmt.Errorf("cannot append to chat %q: %w", chatID, err)
	}
	var err error
	for range 2 {
		err = s.cas(ctx, s.appendCAS(chatID, recs))
		if !errors.Is(err, errRefreshDue) {
			break
		}
		if err = s.refresh(ctx, chatID); err != nil {
			break
		}
	}
	switch {
	case errors.Is(err, errNotApplied):
		err = chat.ErrSeqTaken
	case errors.Is(err, errRefreshDue):
		err = fmt.Errorf("the chat's cells are still not refreshed: %w", err)
	}
	if err != nil {
		return fmt.Errorf("cannot append records %d..%d of chat %q: %w", from, to, chatID, err)
	}
	return nil
}

// refreshBatch bounds the records one refresh batch writes again: a batch on one
// partition is one mutation, so this keeps each under a few hundred kilobytes.
const refreshBatch = 200

// refresh writes a live chat's records, files and index entries again as they are, and then its session
// cells with refreshed_at now, all with a fresh TTL, so nothing of a chat in use expires.
// Records are immutable: writing one again only moves its expiry. The session cells go
// last, with an LWT that holds only while the chat is live, so a refresh cut short is
// done again by the next append, and a chat that ended meanwhile stays ended. The records'
// plain writes carry this client's clock: they replace the cells written at least half a
// TTL before, so clocks would have to be that far apart for a refresh to be lost.
func (s *Store) refresh(ctx context.Context, chatID string) error {
	row, recs, err := s.Load(ctx, chatID)
	if err != nil {
		return err
	}
	for from := 0; from < len(recs); from += refreshBatch {
		part := recs[from:min(from+refreshBatch, len(recs))]
		err := s.retry(ctx, func(ctx context.Context) error {
			b := s.session.NewBatch(gocql.UnloggedBatch).WithContext(ctx)
			for _, r := range part {
				b.Query(s.q.rewriteEvent, chatID, int64(r.Seq), r.RequestID, r.Data)
			}
			return s.session.ExecuteBatch(b)
		})
		if err != nil {
			return fmt.Errorf("cannot refresh the records of chat %q: %w", chatID, err)
		}
	}
	if err := s.refreshFiles(ctx, chatID); err != nil {
		return err
	}
	if err := s.rewriteIndex(ctx, chatID, keepSeconds(s.cfg.TTL)); err != nil {
		return err
	}
	err = s.cas(ctx, func(ctx context.Context) (bool, bool, error) {
		prev := map[string]any{}
		applied, err := s.session.Query(s.q.refreshSession, row.Service, row.CreatedAt, row.Data, time.Now(), chatID).
			WithContext(ctx).MapScanCAS(prev)
		return applied, false, err
	})
	if errors.Is(err, errNotApplied) {
		err = chat.ErrUnknownChat
	}
	if err != nil {
		return fmt.Errorf("cannot refresh chat %q: %w", chatID, err)
	}
	s.logger.Debug("chat cells written again with a fresh TTL", "chat", chatID, "records", len(recs))
	return nil
}

// checkSeqs checks that the Seq of recs are consecutive, from first (0: from any).
func checkSeqs(recs []chat.Record, first uint64) error {
	for i, r := range recs {
		switch {
		case r.Seq == 0 || r.Seq > math.MaxInt64:
			return fmt.Errorf("record %d has seq %d, out of 1..2^63-1", i, r.Seq)
		case i == 0 && first != 0 && r.Seq != first:
			return fmt.Errorf("first record has seq %d, want %d", r.Seq, first)
		case i > 0 && r.Seq != recs[i-1].Seq+1:
			return fmt.Errorf("record %d has seq %d after %d", i, r.Seq, recs[i-1].Seq)
		}
	}
	return nil
}

// Load reads the session row and every record at the serial consistency level, so it sees
// every LWT that finished and completes any left half-done.
func (s *Store) Load(ctx context.Context, chatID string) (chat.SessionRow, []chat.Record, error) {
	var row chat.SessionRow
	var recs []chat.Record
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		if row, err = s.loadSession(ctx, chatID); err != nil {
			return err
		}
		recs, err = s.loadRecords(ctx, chatID)
		return err
	})
	if err != nil {
		return chat.SessionRow{}, nil, fmt.Errorf("cannot load chat %q: %w", chatID, err)
	}
	return row, recs, nil
}

func (s *Store) serialRead() gocql.Consistency {
	return gocql.Consistency(s.cfg.SerialConsistency)
}

// loadSession reads a chat's session cells; a chat whose last_write expired or was
// deleted is unknown.
func (s *Store) loadSession(ctx context.Context, chatID string) (chat.SessionRow, error) {
	row := chat.SessionRow{ChatID: chatID}
	var last time.Time
	err := s.session.Query(s.q.selectSession, chatID).WithContext(ctx).Consistency(s.serialRead()).
		Scan(&row.Service, &row.CreatedAt, &row.Data, &last)
	if errors.Is(err, gocql.ErrNotFound) || (err == nil && last.IsZero()) {
		return row, chat.ErrUnknownChat
	}
	row.CreatedAt = row.CreatedAt.UTC()
	return row, err
}

func (s *Store) loadRecords(ctx context.Context, chatID string) ([]chat.Record, error) {
	iter := s.session.Query(s.q.selectEvents, chatID).WithContext(ctx).Consistency(s.serialRead()).
		PageSize(loadPageSize).Iter()
	var recs []chat.Record
	for {
		var seq int64
		var r chat.Record
		if !iter.Scan(&seq, &r.RequestID, &r.Data) {
			break
		}
		if seq == 0 { // a partition with session cells and no rows yet
			continue
		}
		r.Seq = uint64(seq)
		recs = append(recs, r)
	}
	return recs, iter.Close()
}

// SaveTranscript writes the final transcript with its retention as TTL (none for 0), and
// the chat's index entries with the same TTL. With f.Deliver its outbox entry goes first,
// a copy of the transcript: one statement each, as a batch spanning the two tables would
// pass Cassandra's batch size limit for a long transcript. A save cut short after the
// outbox entry still delivers, and a retry writes everything again.
func (s *Store) SaveTranscript(ctx context.Context, f chat.Final) error {
	ttl, err := retentionSeconds(f.Retention)
	if err != nil {
		return fmt.Errorf("cannot save transcript of chat %q: %w", f.ChatID, err)
	}
	now := time.Now()
	if f.Deliver {
		err := s.retry(ctx, func(ctx context.Context) error {
			return s.session.Query(s.q.insertOutbox, bucketOf(f.ChatID), f.ChatID, f.Data, now).WithContext(ctx).Exec()
		})
		if err != nil {
			return fmt.Errorf("cannot queue transcript of chat %q for delivery: %w", f.ChatID, err)
		}
	}
	err = s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.insertTranscript, f.ChatID, now, f.Data, ttl).WithContext(ctx).Exec()
	})
	if err != nil {
		return fmt.Errorf("cannot save transcript of chat %q: %w", f.ChatID, err)
	}
	return s.rewriteIndex(ctx, f.ChatID, ttl)
}

// retentionSeconds is a transcript's TTL in whole seconds, rounded up; 0 keeps it for ever.
func retentionSeconds(d time.Duration) (int, error) {
	if d < 0 || d > maxRetention {
		return 0, fmt.Errorf("retention %v is not between 0 and 20 years", d)
	}
	return int((d + time.Second - 1) / time.Second), nil
}

// maxRetention is Cassandra's largest TTL, 20 years.
const maxRetention = 630720000 * time.Second

// Transcript returns the final transcript of a chat.
func (s *Store) Transcript(ctx context.Context, chatID string) ([]byte, error) {
	var data []byte
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.selectTranscript, chatID).WithContext(ctx).Scan(&data)
	})
	if errors.Is(err, gocql.ErrNotFound) {
		err = chat.ErrUnknownChat
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read transcript of chat %q: %w", chatID, err)
	}
	return data, nil
}

// Delete implements chat.Finisher: it deletes the chat's session cells, so the chat is
// gone for Load and Append, and then its files. Its record rows stay until their TTL:
// they are the fence that makes a stale owner's append collide (ErrSeqTaken) instead of
// landing in a chat that has ended. A chat already gone is no error.
func (s *Store) Delete(ctx context.Context, chatID string) error {
	err := s.cas(ctx, func(ctx context.Context) (bool, bool, error) {
		applied, err := s.session.Query(s.q.deleteSession, chatID).WithContext(ctx).MapScanCAS(map[string]any{})
		return applied, false, err
	})
	if err != nil && !errors.Is(err, errNotApplied) {
		return fmt.Errorf("cannot delete chat %q: %w", chatID, err)
	}
	if err := s.deleteFiles(ctx, chatID); err != nil {
		return fmt.Errorf("cannot delete the files of chat %q: %w", chatID, err)
	}
	return nil
}

// RecordTTL returns how long record seq of a chat has left before it expires.
func (s *Store) RecordTTL(ctx context.Context, chatID string, seq uint64) (time.Duration, error) {
	var secs int64
	err := s.session.Query(s.q.selectTTL, chatID, int64(seq)).WithContext(ctx).Scan(&secs)
	if errors.Is(err, gocql.ErrNotFound) {
		err = chat.ErrUnknownChat
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read TTL of record %d of chat %q: %w", seq, chatID, err)
	}
	return time.Duration(secs) * time.Second, nil
}

// Available reports whether the last probe of the availability watch succeeded: Cassandra
// answered a read at the configured consistency level.
func (s *Store) Available() bool {
	return s.watch.Available()
}

// probeKey is a chat id no chat has; the probe reads it.
const probeKey = "chatha-availability-probe"

// probe reads one row at the configured consistency level, retried as requests are: it
// fails when too few replicas answer, as appends then would, not when one connection drops.
func (s *Store) probe(ctx context.Context) error {
	return s.retry(ctx, func(ctx context.Context) error {
		var id string
		err := s.session.Query(s.q.probe, probeKey).WithContext(ctx).Scan(&id)
		if errors.Is(err, gocql.ErrNotFound) {
			return nil
		}
		return err
	})
}

// Close stops the availability watch and closes the connections.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.watch.Close()
		s.session.Close()
	})
	return nil
}

// keepSeconds is the TTL of every cell of a chat but last_write: 1.5 times the TTL. A
// chat's cells are written again (refresh) when they are older than half the TTL, so at
// any write they live at least one TTL more, and outlive last_write.
func keepSeconds(ttl time.Duration) int {
	return int((ttl*3/2 + time.Second - 1) / time.Second)
}

// refreshDue is the refreshed_at before which an append refreshes the chat's cells.
func (s *Store) refreshDue(now time.Time) time.Time {
	return now.Add(-s.cfg.TTL / 2)
}

// queries holds the CQL of every statement, with the keyspace and the TTLs filled in:
// values that are the same for every call cost no bytes per message.
type queries struct {
	insertFirst, insertEvent, rewriteEvent, selectEvents string
	touch, touchLive                                     string
	selectSession, refreshSession, deleteSession         string
	insertClaim                                          string
	insertTranscript, selectTranscript                   string
	selectTTL, probe                                     string
	selectLive, insertChunk, insertHeader, selectFile    string
	selectFiles, deleteFileHeader, deleteFile            string
	deleteFiles                                          string
	lifecycle
	finishing
}

// newQueries returns the statements for keyspace ks and a TTL of ttl. "last_write > 0"
// holds while last_write is set; last_write takes the coordinator's clock, as its value
// matters only for being there.
func newQueries(ks string, ttl time.Duration) queries {
	t, f := ks+".chats", ks+".files"
	live := fmt.Sprint(" USING TTL ", int(ttl/time.Second))
	keep := fmt.Sprint(" USING TTL ", keepSeconds(ttl))
	return queries{
		insertFirst: "INSERT INTO " + t + " (chat_id, seq, request_id, data, service, created_at, session, refreshed_at) " +
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS" + keep,
		insertEvent:  "INSERT INTO " + t + " (chat_id, seq, request_id, data) VALUES (?, ?, ?, ?) IF NOT EXISTS" + keep,
		rewriteEvent: "INSERT INTO " + t + " (chat_id, seq, request_id, data) VALUES (?, ?, ?, ?)" + keep,
		selectEvents: "SELECT seq, request_id, data FROM " + t + " WHERE chat_id = ?",

		touch:     "UPDATE " + t + live + " SET last_write = toTimestamp(now()) WHERE chat_id = ?",
		touchLive: "UPDATE " + t + live + " SET last_write = toTimestamp(now()) WHERE chat_id = ? IF last_write > 0 AND refreshed_at > ?",

		selectSession:  "SELECT service, created_at, session, last_write FROM " + t + " WHERE chat_id = ? LIMIT 1",
		refreshSession: "UPDATE " + t + keep + " SET service = ?, created_at = ?, session = ?, refreshed_at = ? WHERE chat_id = ? IF last_write > 0",
		deleteSession:  "DELETE service, created_at, session, refreshed_at, last_write FROM " + t + " WHERE chat_id = ? IF last_write > 0",

		insertClaim: "INSERT INTO " + ks + ".claims (request_id, chat_id) VALUES (?, ?) IF NOT EXISTS" + live,

		insertTranscript: "INSERT INTO " + ks + ".transcripts (chat_id, saved_at, data) VALUES (?, ?, ?) USING TTL ?",
		selectTranscript: "SELECT data FROM " + ks + ".transcripts WHERE chat_id = ?",

		selectTTL: "SELECT TTL(data) FROM " + t + " WHERE chat_id = ? AND seq = ?",
		probe:     "SELECT chat_id FROM " + t + " WHERE chat_id = ? LIMIT 1",

		selectLive:       "SELECT last_write FROM " + t + " WHERE chat_id = ? LIMIT 1",
		insertChunk:      "INSERT INTO " + f + " (chat_id, file_id, chunk, data) VALUES (?, ?, ?, ?)" + keep,
		insertHeader:     "INSERT INTO " + f + " (chat_id, file_id, chunk, size, chunks) VALUES (?, ?, ?, ?, ?)" + keep,
		selectFile:       "SELECT chunk, data, size, chunks FROM " + f + " WHERE chat_id = ? AND file_id = ?",
		selectFiles:      "SELECT file_id, chunk, data, size, chunks FROM " + f + " WHERE chat_id = ?",
		deleteFileHeader: "DELETE FROM " + f + " WHERE chat_id = ? AND file_id = ? AND chunk = ?",
		deleteFile:       "DELETE FROM " + f + " WHERE chat_id = ? AND file_id = ?",
		deleteFiles:      "DELETE FROM " + f + " WHERE chat_id = ?",
		lifecycle:        newLifecycle(ks, ttl),
		finishing:        newFinishing(ks),
	}
}
