package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/chatha/chatha/chat"
)

// FinishChat implements chat.Finisher in one transaction: when the chat
// still has its session (it was neither finished, erased nor swept), its
// transcript is stored unless one is there, with its outbox entry when it
// was stored and f.Deliver, and its live rows are deleted; its mark goes
// either way. Transactions run one at a time, so finishers of one chat, and
// an erasure, follow one another: the first stores, the others find no
// session.
func (s *Store) FinishChat(ctx context.Context, f chat.Final) (bool, error) {
	var saved bool
	err := s.submit(ctx, func(tx *sql.Tx) error {
		saved = false
		var live int
		if err := tx.QueryRow(`SELECT count(*) FROM sessions WHERE chat_id = ?`, f.ChatID).Scan(&live); err != nil {
			return fmt.Errorf("cannot read the session of chat %s: %w", f.ChatID, err)
		}
		if live > 0 {
			var err error
			if saved, err = storeFinal(tx, f, `INSERT OR IGNORE`); err != nil {
				return err
			}
			if err := deleteLive(tx, f.ChatID); err != nil {
				return err
			}
		}
		return clearEnding(tx, f.ChatID)
	})
	return saved && err == nil, err
}

// MarkEnding implements chat.Endings; a chat marked again starts afresh.
func (s *Store) MarkEnding(ctx context.Context, chatID string, due time.Time) error {
	return s.submit(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT OR REPLACE INTO endings (chat_id, due, attempts) VALUES (?, ?, 0)`, chatID, due.UnixMilli())
		if err != nil {
			return fmt.Errorf("cannot mark chat %s as ending: %w", chatID, err)
		}
		return nil
	})
}

// DueEndings implements chat.Endings: the marks due at now, oldest due
// first, through the index on due.
func (s *Store) DueEndings(ctx context.Context, now time.Time, limit int) ([]chat.Ending, error) {
	out, err := queryRows(ctx, s.r, func(rows *sql.Rows) (chat.Ending, error) {
		var e chat.Ending
		var due int64
		err := rows.Scan(&e.ChatID, &due, &e.Attempts)
		e.Due = time.UnixMilli(due)
		return e, err
	}, `SELECT chat_id, due, attempts FROM endings WHERE due <= ? ORDER BY due LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("cannot read the ending marks: %w", err)
	}
	return out, nil
}

// TakeEnding implements chat.Endings with one update conditional on the
// mark being as e read it.
func (s *Store) TakeEnding(ctx context.Context, e chat.Ending, until time.Time) (chat.Ending, error) {
	err := s.submit(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE endings SET due = ?, attempts = attempts + 1 WHERE chat_id = ? AND due = ? AND attempts = ?`,
			until.UnixMilli(), e.ChatID, e.Due.UnixMilli(), e.Attempts)
		if err != nil {
			return fmt.Errorf("cannot take the ending mark of chat %s: %w", e.ChatID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("cannot take the ending mark of chat %s: %w", e.ChatID, chat.ErrLeaseLost)
		}
		return nil
	})
	if err != nil {
		return e, err
	}
	return chat.Ending{ChatID: e.ChatID, Due: time.UnixMilli(until.UnixMilli()), Attempts: e.Attempts + 1}, nil
}

// ClearEnding implements chat.Endings.
func (s *Store) ClearEnding(ctx context.Context, chatID string) error {
	return s.submit(ctx, func(tx *sql.Tx) error { return clearEnding(tx, chatID) })
}

func clearEnding(tx *sql.Tx, chatID string) error {
	if _, err := tx.Exec(`DELETE FROM endings WHERE chat_id = ?`, chatID); err != nil {
		return fmt.Errorf("cannot clear the ending mark of chat %s: %w", chatID, err)
	}
	return nil
}
