package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// submit queues fn for the next group commit and waits for its outcome. Once
// queued, a write is waited for even if ctx ends, so a caller never mistakes a
// stored write for a failed one; a write queued as the store closed, after
// the committer's last look at the queue, is never taken: ErrClosed.
func (s *Store) submit(ctx context.Context, fn func(tx *sql.Tx) error) error {
	w := &write{fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- w:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return ErrClosed
	}
	select {
	case err := <-w.done:
		return err
	case <-s.parked:
		select {
		case err := <-w.done: // taken before the committer stopped
			return err
		default:
			return ErrClosed
		}
	}
}

// commitLoop takes the writes that are waiting, commits them in one
// transaction, and repeats: writes that arrive during a commit share the next.
func (s *Store) commitLoop() {
	defer s.wg.Done()
	defer close(s.parked)
	batch := make([]*write, 0, s.cfg.MaxBatch)
	for {
		select {
		case w := <-s.writes:
			batch = append(batch[:0], w)
		case <-s.stop:
			s.failQueued()
			return
		}
		batch = s.drain(batch)
		s.commit(batch)
	}
}

func (s *Store) drain(batch []*write) []*write {
	for len(batch) < s.cfg.MaxBatch {
		select {
		case w := <-s.writes:
			batch = append(batch, w)
		default:
			return batch
		}
	}
	return batch
}

func (s *Store) failQueued() {
	for {
		select {
		case w := <-s.writes:
			w.done <- ErrClosed
		default:
			return
		}
	}
}

// commit runs each write under its own savepoint, so one write's failure
// undoes only that write, then commits them all with one sync.
func (s *Store) commit(batch []*write) {
	errs := make([]error, len(batch))
	err := s.inTx(func(tx *sql.Tx) error {
		for i, w := range batch {
			if errs[i] = savepoint(tx, w.fn); errs[i] != nil && !isOwn(errs[i]) {
				return errs[i]
			}
		}
		return nil
	})
	if err != nil {
		s.watch.Suspect() // a failed commit: is the database still writable?
	}
	for i, w := range batch {
		if err != nil {
			errs[i] = err
		}
		w.done <- errs[i]
	}
}

func (s *Store) inTx(fn func(tx *sql.Tx) error) error {
	tx, err := s.w.Begin()
	if err != nil {
		return fmt.Errorf("cannot begin a write transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cannot commit: %w", err)
	}
	return nil
}

// ownError marks a write's own failure, rolled back to its savepoint, which
// leaves the transaction usable for the other writes.
type ownError struct{ error }

func (e ownError) Unwrap() error { return e.error }

func isOwn(err error) bool { _, ok := err.(ownError); return ok }

func savepoint(tx *sql.Tx, fn func(tx *sql.Tx) error) error {
	if _, err := tx.Exec(`SAVEPOINT w`); err != nil {
		return fmt.Errorf("cannot open a savepoint: %w", err)
	}
	ferr := fn(tx)
	if ferr != nil {
		if _, err := tx.Exec(`ROLLBACK TO w`); err != nil {
			return fmt.Errorf("cannot roll back a savepoint: %w", err)
		}
	}
	if _, err := tx.Exec(`RELEASE w`); err != nil {
		return fmt.Errorf("cannot release a savepoint: %w", err)
	}
	if ferr != nil {
		return ownError{ferr}
	}
	return nil
}

// sweepBatch bounds the chats one sweep transaction deletes, so a sweep
// after a long stop holds the write lock only briefly at a time.
const sweepBatch = 500

// sweepLoop deletes expired chats, claims, transcripts and index entries every SweepInterval.
func (s *Store) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.sweep()
		case <-s.stop:
			return
		}
	}
}

// sweep deletes what expired, sweepBatch chats (and claims) per commit,
// until nothing expired is left or the store closes.
func (s *Store) sweep() {
	for {
		var more bool
		err := s.submit(context.Background(), func(tx *sql.Tx) (err error) {
			more, err = sweepSome(tx, time.Now().UnixMilli(), sweepBatch)
			return err
		})
		if err != nil || !more {
			return
		}
	}
}

// sweepSome deletes up to limit expired chats with their records and files, up to
// limit expired claims, final transcripts past their retention and index entries
// of chats with nothing left; it reports whether it found that many of any.
func sweepSome(tx *sql.Tx, now int64, limit int) (bool, error) {
	ids, err := queryRows(context.Background(), tx, scanString, `SELECT chat_id FROM sessions WHERE expires_at < ? LIMIT ?`, now, limit)
	if err != nil {
		return false, fmt.Errorf("cannot find expired chats: %w", err)
	}
	for _, id := range ids {
		if err := deleteLive(tx, id); err != nil {
			return false, fmt.Errorf("expired: %w", err)
		}
	}
	res, err := tx.Exec(`DELETE FROM claims WHERE request_id IN (SELECT request_id FROM claims WHERE expires_at < ? LIMIT ?)`, now, limit)
	if err != nil {
		return false, fmt.Errorf("cannot delete expired claims: %w", err)
	}
	claims, _ := res.RowsAffected()
	transcripts, err := sweepTranscripts(tx, now, limit)
	if err != nil {
		return false, err
	}
	index, err := sweepIndex(tx, now, limit)
	if err != nil {
		return false, err
	}
	return len(ids) == limit || claims == int64(limit) || transcripts == limit || index == limit, nil
}
