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
	s := &Store{cfg: cfg, logger: logger, session: session, q: newQueries(cfg.Keyspace)}
	if err := s.prepareSchema(ctx); err != nil {
		session.Close()
		return nil, err
	}
	if s.watch, err = newWatch(s.probe, cfg, logger); err != nil {
		session.Close()
		return nil, err
	}
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
	for _, t := range []string{"sessions", "events", "transcripts"} {
		if !found[t] {
			return fmt.Errorf("cannot find table %s.%s (create it from deploy/cassandra/schema.cql, or with create=true)", ks, t)
		}
	}
	return nil
}

// Create stores the session row with an LWT (IF NOT EXISTS), then the first records with
// a conditional batch. Cassandra has no transaction across two tables: if the records
// cannot be written, Create deletes the session row again (best effort, see undoCreate).
func (s *Store) Create(ctx context.Context, row chat.SessionRow, first []chat.Record) error {
	if err := checkSeqs(first, 1); err != nil {
		return fmt.Errorf("cannot create chat %q: %w", row.ChatID, err)
	}
	err := s.cas(ctx, s.insertSessionCAS(row))
	if errors.Is(err, errNotApplied) {
		return fmt.Errorf("cannot create chat %q: %w", row.ChatID, chat.ErrChatExists)
	}
	if err != nil {
		return fmt.Errorf("cannot create session row of chat %q: %w", row.ChatID, err)
	}
	if len(first) == 0 {
		return nil
	}
	if err := s.cas(ctx, s.insertRecordsCAS(row.ChatID, first)); err != nil {
		s.undoCreate(row.ChatID)
		if errors.Is(err, errNotApplied) { // records left by an earlier, failed create
			err = chat.ErrChatExists
		}
		return fmt.Errorf("cannot store the first records of chat %q: %w", row.ChatID, err)
	}
	return nil
}

// undoCreate deletes a half-created chat, with its own deadline since the caller's
// context may be over. If that fails too, the session row stays without records until
// its TTL; chat ids are random and never reused, so no one reads it.
func (s *Store) undoCreate(chatID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.RequestTimeout)
	defer cancel()
	if err := s.Delete(ctx, chatID); err != nil {
		s.logger.Warn("cannot delete half-created chat", "chat", chatID, "error", err)
	}
}

// Append stores recs with one conditional batch: INSERT ... IF NOT EXISTS for each, all
// in the chat's partition, so all of them are stored or none. Each record is one row:
// the bytes written per message do not grow with the transcript.
func (s *Store) Append(ctx context.Context, chatID string, recs []chat.Record) error {
	if len(recs) == 0 {
		return nil
	}
	from, to := recs[0].Seq, recs[len(recs)-1].Seq
	if err := checkSeqs(recs, 0); err != nil {
		return fmt.Errorf("cannot append to chat %q: %w", chatID, err)
	}
	err := s.cas(ctx, s.insertRecordsCAS(chatID, recs))
	if errors.Is(err, errNotApplied) {
		err = chat.ErrSeqTaken
	}
	if err != nil {
		return fmt.Errorf("cannot append records %d..%d of chat %q: %w", from, to, chatID, err)
	}
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

func (s *Store) loadSession(ctx context.Context, chatID string) (chat.SessionRow, error) {
	row := chat.SessionRow{ChatID: chatID}
	err := s.session.Query(s.q.selectSession, chatID).WithContext(ctx).Consistency(s.serialRead()).
		Scan(&row.Service, &row.CreatedAt, &row.Data)
	if errors.Is(err, gocql.ErrNotFound) {
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
		r.Seq = uint64(seq)
		recs = append(recs, r)
	}
	return recs, iter.Close()
}

// SaveTranscript writes the final transcript (no TTL). Writing it again overwrites it.
func (s *Store) SaveTranscript(ctx context.Context, chatID string, transcript []byte) error {
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.insertTranscript, chatID, time.Now(), transcript).WithContext(ctx).Exec()
	})
	if err != nil {
		return fmt.Errorf("cannot save transcript of chat %q: %w", chatID, err)
	}
	return nil
}

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

// Delete implements chat.Finisher: it deletes the chat's session row, so the
// chat is gone for Load. Its event rows stay until their TTL: they are the fence
// that makes a stale owner's append collide (ErrSeqTaken) instead of landing in a
// chat that has ended. Deleting the partition would let such an append through.
func (s *Store) Delete(ctx context.Context, chatID string) error {
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.deleteSession, chatID).WithContext(ctx).Exec()
	})
	if err != nil {
		return fmt.Errorf("cannot delete session row of chat %q: %w", chatID, err)
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

func (s *Store) ttlSeconds() int {
	return int(s.cfg.TTL / time.Second)
}

// queries holds the CQL of every statement, with the keyspace filled in.
type queries struct {
	insertSession, selectSession, deleteSession string
	insertEvent, selectEvents                   string
	insertTranscript, selectTranscript          string
	selectTTL, probe                            string
}

func newQueries(ks string) queries {
	return queries{
		insertSession: "INSERT INTO " + ks + ".sessions (chat_id, service, created_at, data) VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL ?",
		selectSession: "SELECT service, created_at, data FROM " + ks + ".sessions WHERE chat_id = ?",
		deleteSession: "DELETE FROM " + ks + ".sessions WHERE chat_id = ? IF EXISTS",

		insertEvent:  "INSERT INTO " + ks + ".events (chat_id, seq, request_id, data) VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL ?",
		selectEvents: "SELECT seq, request_id, data FROM " + ks + ".events WHERE chat_id = ?",

		insertTranscript: "INSERT INTO " + ks + ".transcripts (chat_id, saved_at, data) VALUES (?, ?, ?)",
		selectTranscript: "SELECT data FROM " + ks + ".transcripts WHERE chat_id = ?",

		selectTTL: "SELECT TTL(data) FROM " + ks + ".events WHERE chat_id = ? AND seq = ?",
		probe:     "SELECT chat_id FROM " + ks + ".sessions WHERE chat_id = ?",
	}
}
