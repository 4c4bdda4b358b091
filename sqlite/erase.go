package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/chatha/chatha/chat"
)

// IndexUserData implements chat.UserDataIndex. An entry expires TTL after
// it is written, but is swept only once the chat has no live session, no
// transcript and no outbox entry left; a saved transcript gives the chat's
// entries its own expiry.
func (s *Store) IndexUserData(ctx context.Context, chatID string, pairs map[string]string) error {
	if len(pairs) == 0 {
		return nil
	}
	return s.submit(ctx, func(tx *sql.Tx) error {
		exp := s.expiry()
		for k, v := range pairs {
			_, err := tx.Exec(`INSERT INTO userdata (key, value, chat_id, expires_at) VALUES (?, ?, ?, ?)
				ON CONFLICT DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`, k, v, chatID, exp)
			if err != nil {
				return fmt.Errorf("cannot index userData %q of chat %s: %w", k, chatID, err)
			}
		}
		return nil
	})
}

// ChatsByUserData implements chat.UserDataIndex.
func (s *Store) ChatsByUserData(ctx context.Context, key, value string, limit int) ([]string, error) {
	ids, err := queryRows(ctx, s.r, scanString, `SELECT chat_id FROM userdata WHERE key = ? AND value = ? ORDER BY chat_id LIMIT ?`, key, value, limit)
	if err != nil {
		return nil, fmt.Errorf("cannot read the userData index: %w", err)
	}
	return ids, nil
}

// eraseFrom are the statements Erase runs, in one transaction, each
// counting what it removed.
var eraseFrom = []struct {
	sql   string
	count func(e *chat.Erased, n int)
}{
	{`DELETE FROM sessions WHERE chat_id = ?`, func(e *chat.Erased, n int) { e.Session = n > 0 }},
	{`DELETE FROM events WHERE chat_id = ?`, func(e *chat.Erased, n int) { e.Records = n }},
	{`DELETE FROM files WHERE chat_id = ?`, func(e *chat.Erased, n int) { e.Files = n }},
	{`DELETE FROM transcripts WHERE chat_id = ?`, func(e *chat.Erased, n int) { e.Transcript = n > 0 }},
	{`DELETE FROM outbox WHERE chat_id = ?`, func(e *chat.Erased, n int) { e.Outbox = n > 0 }},
	{`DELETE FROM endings WHERE chat_id = ?`, func(*chat.Erased, int) {}}, // a mark holds nothing of the chat's content
	{`DELETE FROM claims WHERE chat_id = ?`, func(e *chat.Erased, n int) { e.Claims = n }},
	{`DELETE FROM userdata WHERE chat_id = ?`, func(e *chat.Erased, n int) { e.Index = n }},
}

// Erase implements chat.Eraser: every row of the chat, in every table, in
// one transaction. A later Append finds no session and fails.
func (s *Store) Erase(ctx context.Context, chatID string) (chat.Erased, error) {
	var e chat.Erased
	err := s.submit(ctx, func(tx *sql.Tx) error {
		e = chat.Erased{}
		for _, st := range eraseFrom {
			res, err := tx.Exec(st.sql, chatID)
			if err != nil {
				return fmt.Errorf("cannot erase chat %s: %w", chatID, err)
			}
			n, _ := res.RowsAffected()
			st.count(&e, int(n))
		}
		return nil
	})
	if err != nil {
		return chat.Erased{}, err // rolled back: nothing removed
	}
	return e, nil
}

// sweepIndex deletes up to limit index entries that expired and whose chat
// has nothing left: no live session, no transcript, no outbox entry. It
// returns how many it deleted.
func sweepIndex(tx *sql.Tx, now int64, limit int) (int, error) {
	res, err := tx.Exec(`DELETE FROM userdata WHERE (key, value, chat_id) IN (
		SELECT u.key, u.value, u.chat_id FROM userdata u WHERE u.expires_at < ?1
			AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.chat_id = u.chat_id AND s.expires_at >= ?1)
			AND NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.chat_id = u.chat_id AND (t.expires_at IS NULL OR t.expires_at >= ?1))
			AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.chat_id = u.chat_id)
			LIMIT ?2)`, now, limit)
	if err != nil {
		return 0, fmt.Errorf("cannot delete expired index entries: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// sweepTranscripts deletes up to limit final transcripts whose retention
// ran out; it returns how many it deleted.
func sweepTranscripts(tx *sql.Tx, now int64, limit int) (int, error) {
	res, err := tx.Exec(`DELETE FROM transcripts WHERE chat_id IN (
		SELECT chat_id FROM transcripts WHERE expires_at < ? LIMIT ?)`, now, limit)
	if err != nil {
		return 0, fmt.Errorf("cannot delete expired transcripts: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
