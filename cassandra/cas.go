package cassandra

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/gocql/gocql"

	"github.com/chatha/chatha/chat"
)

// Refusals of an LWT.
var (
	// errNotApplied means the condition of an LWT did not hold and what stopped it is not
	// what this call tried to write.
	errNotApplied = errors.New("lwt not applied")
	// errRefreshDue means an append found the chat's cells older than half the TTL: they
	// must be written again before it.
	errRefreshDue = errors.New("the chat's cells are due to be written again with a fresh TTL")
)

// casFunc runs one LWT. When it was not applied, ours reports whether the rows that
// stopped it hold exactly what it tried to write; an error that is not transient says why
// it was refused.
type casFunc func(ctx context.Context) (applied, ours bool, err error)

// cas runs op until it is applied, is refused, fails for good or runs out of retries.
//
// An LWT that timed out or lost its connection may still have been applied, and its
// retry is then refused by its own rows. So a refusal after such a failure counts as
// success when the rows found are exactly ours; a refusal on the first try never does.
func (s *Store) cas(ctx context.Context, op casFunc) error {
	uncertain := false
	return s.retry(ctx, func(ctx context.Context) error {
		applied, ours, err := op(ctx)
		switch {
		case err != nil && transient(ctx, err):
			uncertain = true
			return err
		case err != nil:
			return err
		case applied || (uncertain && ours):
			return nil
		default:
			return errNotApplied
		}
	})
}

// retry runs op, and again after a failure that may pass (timeout, node down, overload),
// up to Config.CASRetries more times. Such failures also make the watch probe Cassandra.
func (s *Store) retry(ctx context.Context, op func(ctx context.Context) error) error {
	for attempt := 0; ; attempt++ {
		err := op(ctx)
		if err == nil || !transient(ctx, err) {
			return err
		}
		s.watch.Suspect()
		if attempt >= s.cfg.CASRetries || wait(ctx, backoff(attempt)) != nil {
			return err
		}
		s.logger.Debug("cassandra request failed, trying again", "attempt", attempt+1, "error", err)
	}
}

// backoff is the pause before retry attempt+1: 50 ms, doubling, at most 1 s.
func backoff(attempt int) time.Duration {
	return min(50*time.Millisecond<<attempt, time.Second)
}

// wait pauses for d or until ctx is done.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// transient reports whether err, the outcome of a request made with ctx, may go away on
// its own: anything but a refused LWT, a missing row, a request Cassandra rejects as
// such, a closed session or ctx ending. A request canceled while ctx goes on was cut
// short by the driver, which cancels what was under way on a connection it closes, as
// when the node at its other end dies: another node may answer.
func transient(ctx context.Context, err error) bool {
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() == nil:
		return true
	case errors.Is(err, errNotApplied), errors.Is(err, errRefreshDue), errors.Is(err, gocql.ErrNotFound),
		errors.Is(err, chat.ErrUnknownChat), errors.Is(err, gocql.ErrSessionClosed),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	var re gocql.RequestError
	if errors.As(err, &re) {
		switch re.Code() {
		case gocql.ErrCodeSyntax, gocql.ErrCodeInvalid, gocql.ErrCodeUnauthorized,
			gocql.ErrCodeConfig, gocql.ErrCodeAlreadyExists, gocql.ErrCodeCredentials,
			gocql.ErrCodeProtocol, gocql.ErrCodeFunctionFailure:
			return false
		}
	}
	return true
}

// createCAS writes a new chat in one conditional batch on its partition: its first
// records, each if its seq is free, the session in the static columns with the first of
// them, and last_write.
func (s *Store) createCAS(row chat.SessionRow, first []chat.Record) casFunc {
	return func(ctx context.Context) (bool, bool, error) {
		b := s.session.NewBatch(gocql.UnloggedBatch).WithContext(ctx)
		r := first[0]
		b.Query(s.q.insertFirst, row.ChatID, int64(r.Seq), r.RequestID, r.Data, row.Service, row.CreatedAt, row.Data, time.Now())
		for _, r := range first[1:] {
			b.Query(s.q.insertEvent, row.ChatID, int64(r.Seq), r.RequestID, r.Data)
		}
		b.Query(s.q.touch, row.ChatID)
		applied, found, err := s.execCAS(b)
		if err != nil || applied {
			return applied, false, err
		}
		return false, sameRecords(found, first), nil
	}
}

// appendCAS appends recs to a chat's log in one conditional batch: every record is
// inserted if its seq is free, and last_write set with a fresh TTL if the chat is live
// and was refreshed less than half a TTL ago; or nothing is written. A refusal that no
// record caused is ErrUnknownChat (the chat ended or expired) or errRefreshDue.
func (s *Store) appendCAS(chatID string, recs []chat.Record) casFunc {
	return func(ctx context.Context) (bool, bool, error) {
		b := s.session.NewBatch(gocql.UnloggedBatch).WithContext(ctx)
		for _, r := range recs {
			b.Query(s.q.insertEvent, chatID, int64(r.Seq), r.RequestID, r.Data)
		}
		b.Query(s.q.touchLive, chatID, s.refreshDue(time.Now()))
		applied, found, err := s.execCAS(b)
		if err != nil || applied {
			return applied, false, err
		}
		if hasRecord(found) {
			return false, sameRecords(found, recs), nil
		}
		return false, false, sessionRefusal(found)
	}
}

// execCAS runs a conditional batch and returns whether it was applied and, when it was
// not, the rows that stopped it.
func (s *Store) execCAS(b *gocql.Batch) (bool, []map[string]any, error) {
	first := map[string]any{}
	applied, iter, err := s.session.MapExecuteBatchCAS(b, first)
	if err != nil {
		if iter != nil {
			iter.Close()
		}
		return false, nil, err
	}
	found := []map[string]any{first}
	for row := map[string]any{}; iter.MapScan(row); row = map[string]any{} {
		found = append(found, row)
	}
	if err := iter.Close(); err != nil {
		return false, nil, err
	}
	return applied, found, nil
}

// hasRecord reports whether rows returned by a refused LWT hold a record.
func hasRecord(rows []map[string]any) bool {
	for _, r := range rows {
		if seq, ok := r["seq"].(int64); ok && seq > 0 {
			return true
		}
	}
	return false
}

// sessionRefusal says why an append no record stopped was refused, from the session
// cells the LWT returned: the chat has no last_write (it ended or expired), or its cells
// are due to be written again.
func sessionRefusal(rows []map[string]any) error {
	for _, r := range rows {
		if t, ok := r["last_write"].(time.Time); ok && !t.IsZero() {
			return errRefreshDue
		}
	}
	return chat.ErrUnknownChat
}

// sameRecords reports whether rows, as an LWT returned them, hold exactly recs.
func sameRecords(rows []map[string]any, recs []chat.Record) bool {
	bySeq := make(map[int64]map[string]any, len(rows))
	for _, r := range rows {
		if seq, ok := r["seq"].(int64); ok {
			bySeq[seq] = r
		}
	}
	for _, rec := range recs {
		r, ok := bySeq[int64(rec.Seq)]
		if !ok || r["request_id"] != rec.RequestID || !bytes.Equal(asBytes(r["data"]), rec.Data) {
			return false
		}
	}
	return true
}

func asBytes(v any) []byte {
	b, _ := v.([]byte)
	return b
}
