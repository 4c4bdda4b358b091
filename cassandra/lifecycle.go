package cassandra

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/gocql/gocql"

	"github.com/chatha/chatha/chat"
)

// lifecycle holds the CQL of what follows a chat's end: the outbox of the
// archive webhook, the userData index and erasure.
type lifecycle struct {
	insertOutbox, insertOutboxOnce, leaseOutbox               string
	selectOutboxData, retryOutbox, completeOutbox             string
	dueOutbox                                                 [2]string
	insertIndex, insertIndexByChat, selectIndex, selectByChat string
	eraseReadChat, eraseReadFiles, eraseReadTranscript        string
	eraseReadOutbox, eraseReadClaim                           string
	deleteChatAt, deleteFilesAt, deleteTranscriptAt           string
	deleteOutboxAt, deleteClaimAt, deleteIndex, deleteByChat  string
}

func newLifecycle(ks string, ttl time.Duration) lifecycle {
	o, u, b := ks+".outbox", ks+".userdata", ks+".userdata_by_chat"
	insertOutbox := "INSERT INTO " + o + " (bucket, chat_id, data, due, lease, attempts) VALUES (?, ?, ?, ?, '', 0)"
	return lifecycle{
		insertOutbox:     insertOutbox,
		insertOutboxOnce: insertOutbox + " IF NOT EXISTS",
		dueOutbox:        dueQueries(o, "chat_id, due, attempts, lease"),
		leaseOutbox:      "UPDATE " + o + " SET due = ?, lease = ?, attempts = ? WHERE bucket = ? AND chat_id = ? IF due = ? AND lease = ?",
		selectOutboxData: "SELECT data, attempts FROM " + o + " WHERE bucket = ? AND chat_id = ?",
		retryOutbox:      "UPDATE " + o + " SET due = ?, lease = '' WHERE bucket = ? AND chat_id = ? IF lease = ?",
		completeOutbox:   "DELETE FROM " + o + " WHERE bucket = ? AND chat_id = ? IF lease = ?",

		insertIndex:       "INSERT INTO " + u + " (key, value, chat_id) VALUES (?, ?, ?) USING TTL ?",
		insertIndexByChat: "INSERT INTO " + b + " (chat_id, key, value) VALUES (?, ?, ?) USING TTL ?",
		selectIndex:       "SELECT chat_id FROM " + u + " WHERE key = ? AND value = ? LIMIT ?",
		selectByChat:      "SELECT key, value FROM " + b + " WHERE chat_id = ?",

		eraseReadChat: "SELECT seq, request_id, last_write, WRITETIME(data), WRITETIME(service), WRITETIME(created_at), " +
			"WRITETIME(session), WRITETIME(refreshed_at), WRITETIME(last_write) FROM " + ks + ".chats WHERE chat_id = ?",
		eraseReadFiles:      "SELECT chunk, WRITETIME(data), WRITETIME(size) FROM " + ks + ".files WHERE chat_id = ?",
		eraseReadTranscript: "SELECT WRITETIME(data) FROM " + ks + ".transcripts WHERE chat_id = ?",
		eraseReadOutbox:     "SELECT WRITETIME(data), WRITETIME(due), WRITETIME(lease) FROM " + o + " WHERE bucket = ? AND chat_id = ?",
		eraseReadClaim:      "SELECT chat_id, WRITETIME(chat_id) FROM " + ks + ".claims WHERE request_id = ?",

		deleteChatAt:       "DELETE FROM " + ks + ".chats USING TIMESTAMP ? WHERE chat_id = ?",
		deleteFilesAt:      "DELETE FROM " + ks + ".files USING TIMESTAMP ? WHERE chat_id = ?",
		deleteTranscriptAt: "DELETE FROM " + ks + ".transcripts USING TIMESTAMP ? WHERE chat_id = ?",
		deleteOutboxAt:     "DELETE FROM " + o + " USING TIMESTAMP ? WHERE bucket = ? AND chat_id = ?",
		deleteClaimAt:      "DELETE FROM " + ks + ".claims USING TIMESTAMP ? WHERE request_id = ?",
		deleteIndex:        "DELETE FROM " + u + " WHERE key = ? AND value = ? AND chat_id = ?",
		deleteByChat:       "DELETE FROM " + b + " WHERE chat_id = ?",
	}
}

// bucketOf is the outbox partition of a chat's entry.
func bucketOf(chatID string) int {
	h := fnv.New32a()
	h.Write([]byte(chatID))
	return int(h.Sum32() % outboxBuckets)
}

// outboxScan is the most rows one read of an outbox bucket returns: a scan
// reads at most two per bucket, however large the backlog.
const outboxScan = 100

// DueDeliveries implements chat.Outbox: it reads the buckets in a random
// order, each from a random chat id on and around, at most 2*outboxScan
// rows of each, until it has limit entries due at now. Starting anywhere
// keeps entries that are not due from hiding the ones that are.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]chat.Delivery, error) {
	out, err := dueRows(ctx, s, s.q.dueOutbox, now, limit,
		func(iter *gocql.Iter) (chat.Delivery, time.Time, bool) {
			var d chat.Delivery
			ok := iter.Scan(&d.ChatID, &d.Due, &d.Attempts, &d.Lease)
			return d, d.Due, ok
		})
	if err != nil {
		return nil, fmt.Errorf("cannot read the outbox: %w", err)
	}
	return out, nil
}

// dueQueries are the two reads of dueRows of the columns cols of table: from
// a chat id on, and before it.
func dueQueries(table, cols string) [2]string {
	q := "SELECT " + cols + " FROM " + table + " WHERE bucket = ? AND chat_id "
	return [2]string{q + ">= ? LIMIT ?", q + "< ? LIMIT ?"}
}

// dueRows reads up to limit rows due at now of a table kept in
// outboxBuckets partitions by chat id (the outbox, the ending marks): the
// buckets in a random order, each with queries[0] from a random chat id on
// and queries[1] before it (each bound to the bucket, the chat id and a row
// limit), at most 2*outboxScan rows of each. scan reads a row and its due
// time, or reports that none is left.
func dueRows[T any](ctx context.Context, s *Store, queries [2]string, now time.Time, limit int,
	scan func(*gocql.Iter) (T, time.Time, bool)) ([]T, error) {
	var out []T
	first, cursor := rand.IntN(outboxBuckets), fmt.Sprintf("%08x", rand.Uint32())
	for i := 0; i < outboxBuckets && len(out) < limit; i++ {
		b := (first + i) % outboxBuckets
		for _, q := range queries {
			err := s.retry(ctx, func(ctx context.Context) error {
				before := len(out)
				iter := s.session.Query(q, b, cursor, outboxScan).WithContext(ctx).Iter()
				for len(out) < limit {
					row, due, ok := scan(iter)
					if !ok {
						break
					}
					if !due.After(now) {
						out = append(out, row)
					}
				}
				if err := iter.Close(); err != nil {
					out = out[:before]
					return err
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("cannot read bucket %d: %w", b, err)
			}
		}
	}
	return out, nil
}

// LeaseDelivery implements chat.Outbox with an LWT on the entry: it applies
// only while its due time and lease are as d read them.
func (s *Store) LeaseDelivery(ctx context.Context, d chat.Delivery, token string, until time.Time) (chat.Delivery, error) {
	if token == "" {
		return d, errors.New("cannot lease an outbox entry without a token")
	}
	b := bucketOf(d.ChatID)
	err := s.cas(ctx, func(ctx context.Context) (bool, bool, error) {
		prev := map[string]any{}
		applied, err := s.session.Query(s.q.leaseOutbox, until, token, d.Attempts+1, b, d.ChatID, d.Due, d.Lease).
			WithContext(ctx).MapScanCAS(prev)
		return applied, prev["lease"] == token, err
	})
	if errors.Is(err, errNotApplied) {
		err = chat.ErrLeaseLost
	}
	if err != nil {
		return d, fmt.Errorf("cannot lease the outbox entry of chat %q: %w", d.ChatID, err)
	}
	out := d
	out.Due, out.Lease = until, token
	err = s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.selectOutboxData, b, d.ChatID).WithContext(ctx).Scan(&out.Data, &out.Attempts)
	})
	if errors.Is(err, gocql.ErrNotFound) { // erased meanwhile
		err = chat.ErrLeaseLost
	}
	if err != nil {
		return d, fmt.Errorf("cannot read the outbox entry of chat %q: %w", d.ChatID, err)
	}
	return out, nil
}

// RetryDelivery implements chat.Outbox with an LWT conditional on the lease.
func (s *Store) RetryDelivery(ctx context.Context, chatID, token string, due time.Time) error {
	return s.leased(ctx, "reschedule", chatID, token, func(ctx context.Context) (bool, bool, error) {
		prev := map[string]any{}
		applied, err := s.session.Query(s.q.retryOutbox, due, bucketOf(chatID), chatID, token).WithContext(ctx).MapScanCAS(prev)
		at, _ := prev["due"].(time.Time)
		return applied, prev["lease"] == "" && at.Equal(due.Truncate(time.Millisecond)), err
	})
}

// CompleteDelivery implements chat.Outbox with an LWT deletion conditional
// on the lease.
func (s *Store) CompleteDelivery(ctx context.Context, chatID, token string) error {
	return s.leased(ctx, "complete", chatID, token, func(ctx context.Context) (bool, bool, error) {
		prev := map[string]any{}
		applied, err := s.session.Query(s.q.completeOutbox, bucketOf(chatID), chatID, token).WithContext(ctx).MapScanCAS(prev)
		_, there := prev["lease"]
		return applied, !there, err // gone: an earlier try of ours deleted it
	})
}

// leased runs op, an LWT conditional on token's lease of an entry.
func (s *Store) leased(ctx context.Context, what, chatID, token string, op casFunc) error {
	if token == "" {
		return fmt.Errorf("cannot %s an outbox entry without a token", what)
	}
	err := s.cas(ctx, op)
	if errors.Is(err, errNotApplied) {
		err = chat.ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("cannot %s the outbox entry of chat %q: %w", what, chatID, err)
	}
	return nil
}

// IndexUserData implements chat.UserDataIndex: each entry both ways, with
// the TTL of the chat's cells; the chat's refresh writes them again.
func (s *Store) IndexUserData(ctx context.Context, chatID string, pairs map[string]string) error {
	for k, v := range pairs {
		if err := s.writeIndex(ctx, chatID, k, v, keepSeconds(s.cfg.TTL)); err != nil {
			return fmt.Errorf("cannot index userData %q of chat %q: %w", k, chatID, err)
		}
	}
	return nil
}

// writeIndex writes one index entry, both ways, with a TTL of ttl seconds (0: none).
func (s *Store) writeIndex(ctx context.Context, chatID, key, value string, ttl int) error {
	return s.retry(ctx, func(ctx context.Context) error {
		b := s.session.NewBatch(gocql.LoggedBatch).WithContext(ctx)
		b.Query(s.q.insertIndex, key, value, chatID, ttl)
		b.Query(s.q.insertIndexByChat, chatID, key, value, ttl)
		return s.session.ExecuteBatch(b)
	})
}

// indexOf returns a chat's index entries.
func (s *Store) indexOf(ctx context.Context, chatID string) ([][2]string, error) {
	var out [][2]string
	err := s.retry(ctx, func(ctx context.Context) error {
		out = out[:0]
		iter := s.session.Query(s.q.selectByChat, chatID).WithContext(ctx).Iter()
		var k, v string
		for iter.Scan(&k, &v) {
			out = append(out, [2]string{k, v})
		}
		return iter.Close()
	})
	return out, err
}

// rewriteIndex writes a chat's index entries again with a TTL of ttl seconds (0: none).
func (s *Store) rewriteIndex(ctx context.Context, chatID string, ttl int) error {
	entries, err := s.indexOf(ctx, chatID)
	if err != nil {
		return fmt.Errorf("cannot read the index entries of chat %q: %w", chatID, err)
	}
	for _, e := range entries {
		if err := s.writeIndex(ctx, chatID, e[0], e[1], ttl); err != nil {
			return fmt.Errorf("cannot write the index entries of chat %q again: %w", chatID, err)
		}
	}
	return nil
}

// ChatsByUserData implements chat.UserDataIndex.
func (s *Store) ChatsByUserData(ctx context.Context, key, value string, limit int) ([]string, error) {
	var ids []string
	err := s.retry(ctx, func(ctx context.Context) error {
		ids = ids[:0]
		iter := s.session.Query(s.q.selectIndex, key, value, limit).WithContext(ctx).Iter()
		var id string
		for iter.Scan(&id) {
			ids = append(ids, id)
		}
		return iter.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read the userData index: %w", err)
	}
	return ids, nil
}
