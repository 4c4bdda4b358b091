package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatha/chatha/chat"
)

// DueDeliveries implements chat.Outbox: the entries due at now, oldest due
// first, through the index on due.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]chat.Delivery, error) {
	out, err := queryRows(ctx, s.r, func(rows *sql.Rows) (chat.Delivery, error) {
		var d chat.Delivery
		var due int64
		err := rows.Scan(&d.ChatID, &due, &d.Attempts, &d.Lease)
		d.Due = time.UnixMilli(due)
		return d, err
	}, `SELECT chat_id, due, attempts, lease FROM outbox WHERE due <= ? ORDER BY due LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("cannot read the outbox: %w", err)
	}
	return out, nil
}

// LeaseDelivery implements chat.Outbox with one conditional update: it
// applies only while the entry's due time and lease are as d read them.
func (s *Store) LeaseDelivery(ctx context.Context, d chat.Delivery, token string, until time.Time) (chat.Delivery, error) {
	if token == "" {
		return d, errors.New("cannot lease an outbox entry without a token")
	}
	out := d
	err := s.submit(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE outbox SET due = ?, lease = ?, attempts = attempts + 1 WHERE chat_id = ? AND due = ? AND lease = ?`,
			until.UnixMilli(), token, d.ChatID, d.Due.UnixMilli(), d.Lease)
		if err := leased(res, err, "lease", d.ChatID); err != nil {
			return err
		}
		return tx.QueryRow(`SELECT data, attempts FROM outbox WHERE chat_id = ?`, d.ChatID).Scan(&out.Data, &out.Attempts)
	})
	if err != nil {
		return d, err
	}
	out.Due, out.Lease = time.UnixMilli(until.UnixMilli()), token
	return out, nil
}

// RetryDelivery implements chat.Outbox.
func (s *Store) RetryDelivery(ctx context.Context, chatID, token string, due time.Time) error {
	return s.submit(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE outbox SET due = ?, lease = '' WHERE chat_id = ? AND lease = ? AND lease != ''`, due.UnixMilli(), chatID, token)
		return leased(res, err, "reschedule", chatID)
	})
}

// CompleteDelivery implements chat.Outbox.
func (s *Store) CompleteDelivery(ctx context.Context, chatID, token string) error {
	return s.submit(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`DELETE FROM outbox WHERE chat_id = ? AND lease = ? AND lease != ''`, chatID, token)
		return leased(res, err, "complete", chatID)
	})
}

// leased says why a write conditional on a lease changed nothing.
func leased(res sql.Result, err error, what, chatID string) error {
	if err != nil {
		return fmt.Errorf("cannot %s the outbox entry of chat %s: %w", what, chatID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("cannot %s the outbox entry of chat %s: %w", what, chatID, chat.ErrLeaseLost)
	}
	return nil
}
