package cassandra

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/gocql/gocql"

	"github.com/chatha/chatha/chat"
)

// finishing holds the CQL of a chat's finish (FinishChat) and of its ending
// mark.
type finishing struct {
	selectLog, selectSaved, insertTranscriptOnce      string
	insertEnding, takeEnding, readTaker, deleteEnding string
	eraseReadEnding, deleteEndingAt                   string
	dueEndings                                        [2]string
}

func newFinishing(ks string) finishing {
	e := ks + ".endings"
	return finishing{
		selectLog:            "SELECT seq FROM " + ks + ".chats WHERE chat_id = ? LIMIT 1",
		selectSaved:          "SELECT saved_at FROM " + ks + ".transcripts WHERE chat_id = ?",
		insertTranscriptOnce: "INSERT INTO " + ks + ".transcripts (chat_id, saved_at, data) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?",

		insertEnding:    "INSERT INTO " + e + " (bucket, chat_id, due, attempts) VALUES (?, ?, ?, 0)",
		dueEndings:      dueQueries(e, "chat_id, due, attempts"),
		takeEnding:      "UPDATE " + e + " SET due = ?, attempts = ?, taker = ? WHERE bucket = ? AND chat_id = ? IF due = ? AND attempts = ?",
		readTaker:       "SELECT taker FROM " + e + " WHERE bucket = ? AND chat_id = ?",
		deleteEnding:    "DELETE FROM " + e + " WHERE bucket = ? AND chat_id = ?",
		eraseReadEnding: "SELECT WRITETIME(due), WRITETIME(attempts) FROM " + e + " WHERE bucket = ? AND chat_id = ?",
		deleteEndingAt:  "DELETE FROM " + e + " USING TIMESTAMP ? WHERE bucket = ? AND chat_id = ?",
	}
}

// FinishChat implements chat.Finisher. No Cassandra write spans the chat's
// partition, its transcript and the outbox, so a finish is steps that any
// finisher may take again, in an order that leaves a finish cut short at
// any step to the next finisher (the chat's mark goes last):
//  1. a chat without a log (erased, expired, never stored) is not finished;
//  2. a transcript already saved ends the storing: it was queued with it;
//  3. the outbox entry, IF NOT EXISTS, so a delivery under way keeps its
//     lease: it goes before the transcript, so that a transcript saved
//     always had its entry queued;
//  4. the transcript, IF NOT EXISTS: one finisher stores it, and says so;
//  5. the chat's index entries, again, with the transcript's retention;
//  6. the log is read again: a chat erased meanwhile has none, and what
//     3-5 wrote is erased again (an erasure after this read finds it);
//  7. its live rows (Delete), then its mark.
func (s *Store) FinishChat(ctx context.Context, f chat.Final) (bool, error) {
	saved, err := s.finish(ctx, f)
	if err != nil {
		return false, fmt.Errorf("cannot finish chat %q: %w", f.ChatID, err)
	}
	return saved, nil
}

func (s *Store) finish(ctx context.Context, f chat.Final) (bool, error) {
	ttl, err := retentionSeconds(f.Retention)
	if err != nil {
		return false, err
	}
	logged, err := s.hasLog(ctx, f.ChatID)
	if err != nil || !logged {
		if err == nil {
			err = s.ClearEnding(ctx, f.ChatID)
		}
		return false, err
	}
	saved, err := s.storeOnce(ctx, f, ttl)
	if err != nil {
		return false, err
	}
	if err := s.rewriteIndex(ctx, f.ChatID, ttl); err != nil {
		return false, err
	}
	if logged, err = s.hasLog(ctx, f.ChatID); err != nil || !logged {
		if err == nil {
			_, err = s.Erase(ctx, f.ChatID) // erased meanwhile: erase again what this wrote
		}
		return false, err
	}
	if err := s.Delete(ctx, f.ChatID); err != nil {
		return false, err
	}
	return saved, s.ClearEnding(ctx, f.ChatID)
}

// hasLog reports whether a chat's log is stored: its records stay until
// their TTL after the chat ended (Delete), and go at once when it is erased.
func (s *Store) hasLog(ctx context.Context, chatID string) (bool, error) {
	var seq int64
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.selectLog, chatID).WithContext(ctx).Scan(&seq)
	})
	if errors.Is(err, gocql.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot read the log of chat %q: %w", chatID, err)
	}
	return seq > 0, nil
}

// storeOnce stores f's outbox entry (with f.Deliver) and then its transcript,
// each only if there is none, unless a transcript is there already; it
// reports whether it stored the transcript.
func (s *Store) storeOnce(ctx context.Context, f chat.Final, ttl int) (bool, error) {
	var savedAt time.Time
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.selectSaved, f.ChatID).WithContext(ctx).Scan(&savedAt)
	})
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, gocql.ErrNotFound) {
		return false, fmt.Errorf("cannot read the transcript: %w", err)
	}
	now := time.Now()
	if f.Deliver {
		err := s.cas(ctx, func(ctx context.Context) (bool, bool, error) {
			applied, err := s.session.Query(s.q.insertOutboxOnce, bucketOf(f.ChatID), f.ChatID, f.Data, now).
				WithContext(ctx).MapScanCAS(map[string]any{})
			return applied, true, err // queued, by this finisher or another: either will do
		})
		if err != nil && !errors.Is(err, errNotApplied) {
			return false, fmt.Errorf("cannot queue the transcript for delivery: %w", err)
		}
	}
	err = s.cas(ctx, func(ctx context.Context) (bool, bool, error) {
		prev := map[string]any{}
		applied, err := s.session.Query(s.q.insertTranscriptOnce, f.ChatID, now, f.Data, ttl).WithContext(ctx).MapScanCAS(prev)
		return applied, bytes.Equal(asBytes(prev["data"]), f.Data), err
	})
	switch {
	case errors.Is(err, errNotApplied):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("cannot save the transcript: %w", err)
	}
	return true, nil
}

// MarkEnding implements chat.Endings with a plain write; a chat marked again
// starts afresh.
func (s *Store) MarkEnding(ctx context.Context, chatID string, due time.Time) error {
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.insertEnding, bucketOf(chatID), chatID, due).WithContext(ctx).Exec()
	})
	if err != nil {
		return fmt.Errorf("cannot mark chat %q as ending: %w", chatID, err)
	}
	return nil
}

// DueEndings implements chat.Endings: it reads the buckets as DueDeliveries
// does.
func (s *Store) DueEndings(ctx context.Context, now time.Time, limit int) ([]chat.Ending, error) {
	out, err := dueRows(ctx, s, s.q.dueEndings, now, limit,
		func(iter *gocql.Iter) (chat.Ending, time.Time, bool) {
			var e chat.Ending
			ok := iter.Scan(&e.ChatID, &e.Due, &e.Attempts)
			return e, e.Due, ok
		})
	if err != nil {
		return nil, fmt.Errorf("cannot read the ending marks: %w", err)
	}
	return out, nil
}

// TakeEnding implements chat.Endings with an LWT on the mark: it applies
// only while its due time and attempts are as e read them.
func (s *Store) TakeEnding(ctx context.Context, e chat.Ending, until time.Time) (chat.Ending, error) {
	taken := chat.Ending{ChatID: e.ChatID, Due: until.Truncate(time.Millisecond), Attempts: e.Attempts + 1}
	// Every take writes a token of its own: nodes taking one mark at once
	// write the same due and attempts, so after a timeout only the token
	// tells whether the take that went through was this one.
	token := strconv.FormatUint(rand.Uint64(), 36)
	err := s.cas(ctx, func(ctx context.Context) (bool, bool, error) {
		prev := map[string]any{}
		applied, err := s.session.Query(s.q.takeEnding, until, taken.Attempts, token, bucketOf(e.ChatID), e.ChatID, e.Due, e.Attempts).
			WithContext(ctx).MapScanCAS(prev)
		if err != nil || applied {
			return applied, false, err
		}
		if at, _ := prev["due"].(time.Time); !at.Equal(taken.Due) || prev["attempts"] != taken.Attempts {
			return false, false, nil
		}
		var taker string
		err = s.session.Query(s.q.readTaker, bucketOf(e.ChatID), e.ChatID).WithContext(ctx).Consistency(s.serialRead()).Scan(&taker)
		if errors.Is(err, gocql.ErrNotFound) { // cleared meanwhile
			return false, false, nil
		}
		return false, err == nil && taker == token, err
	})
	if errors.Is(err, errNotApplied) {
		err = chat.ErrLeaseLost
	}
	if err != nil {
		return e, fmt.Errorf("cannot take the ending mark of chat %q: %w", e.ChatID, err)
	}
	return taken, nil
}

// ClearEnding implements chat.Endings with a plain deletion. Should a
// node's clock lag the Paxos ballot of a TakeEnding so that the deletion
// misses the mark's cells, the mark is only due again, and the node that
// takes it finds its chat finished and clears it once more.
func (s *Store) ClearEnding(ctx context.Context, chatID string) error {
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.session.Query(s.q.deleteEnding, bucketOf(chatID), chatID).WithContext(ctx).Exec()
	})
	if err != nil {
		return fmt.Errorf("cannot clear the ending mark of chat %q: %w", chatID, err)
	}
	return nil
}

// eraseEnding deletes the chat's ending mark, whoever took it; a mark holds
// nothing of the chat's content, so Erased does not count it.
func (s *Store) eraseEnding(ctx context.Context, chatID string, _ *chat.Erased) error {
	_, err := s.eraseRow(ctx, s.q.eraseReadEnding, s.q.deleteEndingAt, 2, chatID)
	return err
}
