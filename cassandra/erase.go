package cassandra

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gocql/gocql"

	"github.com/chatha/chatha/chat"
)

// Erase implements chat.Eraser. It reads what the store holds of the chat,
// with the write time of every cell, and then deletes each partition and
// row of it with a timestamp past all of them: cells written by LWTs carry
// the timestamps of Cassandra's Paxos ballots, not this client's clock, and
// a plain deletion with an older timestamp would leave them standing. The
// chat's session goes first, so an append racing the erasure fails. The
// create claim is found by the request id of the chat's first records, which
// outlive it; a claim whose create never wrote the chat holds only ids, and
// expires with the TTL.
func (s *Store) Erase(ctx context.Context, chatID string) (chat.Erased, error) {
	var e chat.Erased
	reqIDs, at, err := s.eraseChat(ctx, chatID, &e)
	if err != nil {
		return e, fmt.Errorf("cannot erase chat %q: %w", chatID, err)
	}
	steps := []func(context.Context, string, *chat.Erased) error{s.eraseFiles, s.eraseTranscript, s.eraseOutbox, s.eraseEnding, s.eraseIndex}
	for _, step := range steps {
		if err := step(ctx, chatID, &e); err != nil {
			return e, fmt.Errorf("cannot erase chat %q: %w", chatID, err)
		}
	}
	for _, req := range reqIDs {
		if err := s.eraseClaim(ctx, chatID, req, at, &e); err != nil {
			return e, fmt.Errorf("cannot erase chat %q: %w", chatID, err)
		}
	}
	return e, nil
}

// deleteAfter is the timestamp of a deletion that follows cells last
// written at latest (microseconds): now, or just after them.
func deleteAfter(latest int64) int64 {
	return max(time.Now().UnixMicro(), latest+1)
}

// eraseChat deletes the chat's partition of chats; it returns the request
// ids of its records and the timestamp of the deletion.
func (s *Store) eraseChat(ctx context.Context, chatID string, e *chat.Erased) ([]string, int64, error) {
	var reqIDs []string
	var latest int64
	err := s.retry(ctx, func(ctx context.Context) error {
		reqIDs, latest, e.Records, e.Session = nil, 0, 0, false
		seen := map[string]bool{}
		iter := s.session.Query(s.q.eraseReadChat, chatID).WithContext(ctx).Consistency(s.serialRead()).Iter()
		var (
			seq     int64
			req     string
			last    time.Time
			written [6]int64
		)
		for iter.Scan(&seq, &req, &last, &written[0], &written[1], &written[2], &written[3], &written[4], &written[5]) {
			for _, w := range written {
				latest = max(latest, w)
			}
			e.Session = e.Session || !last.IsZero()
			if seq > 0 {
				e.Records++
			}
			if req != "" && !seen[req] {
				seen[req] = true
				reqIDs = append(reqIDs, req)
			}
		}
		return iter.Close()
	})
	if err != nil || latest == 0 {
		return nil, 0, err
	}
	at := deleteAfter(latest)
	err = s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.deleteChatAt, at, chatID).WithContext(ctx).Exec()
	})
	return reqIDs, at, err
}

// eraseFiles deletes the chat's partition of files.
func (s *Store) eraseFiles(ctx context.Context, chatID string, e *chat.Erased) error {
	var latest int64
	err := s.retry(ctx, func(ctx context.Context) error {
		latest, e.Files = 0, 0
		iter := s.session.Query(s.q.eraseReadFiles, chatID).WithContext(ctx).Iter()
		var chunk int
		var data, size int64
		for iter.Scan(&chunk, &data, &size) {
			latest = max(latest, data, size)
			if chunk == headerChunk {
				e.Files++
			}
		}
		return iter.Close()
	})
	if err != nil || latest == 0 {
		return err
	}
	return s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.deleteFilesAt, deleteAfter(latest), chatID).WithContext(ctx).Exec()
	})
}

// eraseTranscript deletes the chat's final transcript.
func (s *Store) eraseTranscript(ctx context.Context, chatID string, e *chat.Erased) error {
	var written int64
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.eraseReadTranscript, chatID).WithContext(ctx).Scan(&written)
	})
	if errors.Is(err, gocql.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	e.Transcript = true
	return s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.deleteTranscriptAt, deleteAfter(written), chatID).WithContext(ctx).Exec()
	})
}

// eraseOutbox deletes the chat's outbox entry, whoever holds its lease.
func (s *Store) eraseOutbox(ctx context.Context, chatID string, e *chat.Erased) error {
	there, err := s.eraseRow(ctx, s.q.eraseReadOutbox, s.q.deleteOutboxAt, 3, chatID)
	e.Outbox = there
	return err
}

// eraseRow deletes the chat's row of a table kept in buckets (the outbox,
// the ending marks) with a timestamp past the write times of its cells,
// which read, a query of as many WRITETIMEs as cells, returns; del takes
// the timestamp, the bucket and the chat id. It reports whether the row was
// there.
func (s *Store) eraseRow(ctx context.Context, read, del string, cells int, chatID string) (bool, error) {
	b := bucketOf(chatID)
	written := make([]int64, cells)
	dest := make([]any, cells)
	for i := range written {
		dest[i] = &written[i]
	}
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(read, b, chatID).WithContext(ctx).Consistency(s.serialRead()).Scan(dest...)
	})
	if errors.Is(err, gocql.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(del, deleteAfter(slices.Max(written)), b, chatID).WithContext(ctx).Exec()
	})
}

// eraseIndex deletes the chat's userData index entries, both ways.
func (s *Store) eraseIndex(ctx context.Context, chatID string, e *chat.Erased) error {
	entries, err := s.indexOf(ctx, chatID)
	if err != nil {
		return err
	}
	for _, kv := range entries {
		err := s.retry(ctx, func(ctx context.Context) error {
			return s.session.Query(s.q.deleteIndex, kv[0], kv[1], chatID).WithContext(ctx).Exec()
		})
		if err != nil {
			return err
		}
	}
	e.Index = len(entries)
	return s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.deleteByChat, chatID).WithContext(ctx).Exec()
	})
}

// eraseClaim deletes the claim of request id req if it names the chat.
func (s *Store) eraseClaim(ctx context.Context, chatID, req string, at int64, e *chat.Erased) error {
	var owner string
	var written int64
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.eraseReadClaim, req).WithContext(ctx).Consistency(s.serialRead()).Scan(&owner, &written)
	})
	if errors.Is(err, gocql.ErrNotFound) || (err == nil && owner != chatID) {
		return nil
	}
	if err != nil {
		return err
	}
	e.Claims++
	return s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.deleteClaimAt, max(at, deleteAfter(written)), req).WithContext(ctx).Exec()
	})
}
