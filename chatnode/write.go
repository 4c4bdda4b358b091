package chatnode

import (
	"github.com/chatha/chatha/api"

	"github.com/chatha/chatha/chat"

	"context"
	"errors"
	"slices"
	"time"
)

// finalKeeps reports whether the final transcript keeps events of type t
// (transcript-save-notices): every event takes its index in the chat's log,
// and the final transcript leaves typing out unless the option is all, and
// notices too when it is none, keeping the indexes of what it keeps.
func (n *Node) finalKeeps(t chat.EventType) bool {
	switch {
	case t.Typing():
		return n.cfg.Settings.SaveNotices == NoticesAll
	case t.Notice():
		return n.cfg.Settings.SaveNotices != NoticesNone
	}
	return true
}

// request is what a change is known by for retries: its X-Request-Id ("":
// none) and the fingerprint of what it asks (api.Request.Fingerprint).
type request struct{ id, print string }

// batch is a change prepared for storing: its events with indexes assigned and
// the records to append.
type batch struct {
	evs  []chat.Entry
	recs []chat.Record
	seq  uint64 // the session's seq once stored
}

// prepare assigns indexes and sequence numbers to evs without changing s:
// every visible event takes the next transcript index (typing notices too),
// and every event is a record, after the records still waiting to be stored
// (transcript-save-on-error=continue). The first event carries the
// request's fingerprint, so the request id and what it asked are stored
// together.
func (n *Node) prepare(s *session, r request, evs []chat.Entry) batch {
	b := batch{evs: evs, seq: s.Seq()}
	appends := n.cfg.Settings.AutoSave.Appends()
	if appends {
		b.recs = append(b.recs, s.pending...)
	}
	idx, now := s.NextIndex(), n.now().UnixMilli()
	for i := range evs {
		ev := &evs[i]
		if ev.Time == 0 {
			ev.Time = now
		}
		ev.Node = n.cfg.Name
		if ev.Type.Visible() {
			ev.Index, idx = idx, idx+1
		}
		if i == 0 && r.id != "" {
			ev.Print = r.print
		}
		if appends {
			b.seq++
			b.recs = append(b.recs, chat.Record{Seq: b.seq, RequestID: r.id, Data: ev.Encode()})
		}
	}
	return b
}

// commit stores evs as one fenced append, then applies them to s; the caller
// holds s.mu. The error is an *Error fit for the client.
func (n *Node) commit(ctx context.Context, s *session, r request, evs ...chat.Entry) error {
	if s.gone {
		return api.ErrMoved
	}
	b := n.prepare(s, r, evs)
	outcome := saved
	if len(b.recs) > 0 {
		var err error
		if outcome, err = n.save(ctx, s, b); err != nil {
			return err
		}
	}
	n.apply(s, b, r)
	switch outcome {
	case kept:
		n.notifySave(s, "the transcript could not be saved; the chat goes on")
	case savedAgain:
		n.notifySave(s, "the transcript is being saved again")
	}
	return nil
}

// saveOutcome is how a save that the client may be told of went.
type saveOutcome uint8

const (
	saved      saveOutcome = iota // stored
	savedAgain                    // stored, after earlier saves had failed
	kept                          // not stored, kept for the next append (transcript-save-on-error=continue)
)

// fence stores a takeover's restore notices and applies them to s; the
// caller holds s.mu. Unlike commit, a failed save fails the takeover, to be
// retried, whatever transcript-save-on-error says: until its append is
// stored, the node has not fenced the previous owner, so it must neither
// serve the chat from memory (continue: two owners would show different
// events at one index, and the messages it acknowledged would be lost to
// the owner's next append) nor close it (close: the chat is not this node's
// to close, and goes on at its owner).
func (n *Node) fence(ctx context.Context, s *session, evs ...chat.Entry) error {
	b := n.prepare(s, request{}, evs)
	if len(b.recs) > 0 {
		start := time.Now()
		err := n.append(ctx, s.ID, b.recs, s.saveFailing)
		n.kpi.saveSeconds.UpdateDuration(start)
		switch {
		case errors.Is(err, chat.ErrUnknownChat): // ended and removed by another node
			return api.ErrEnded
		case chat.IsLost(err):
			n.kpi.fenced.Inc()
			return api.ErrMoved
		case err != nil:
			n.kpi.saveFailed.Inc()
			n.log.Warn("cannot restore chat: its restore notices cannot be saved", "chat", s.ID, "err", err)
			return api.StoreFailed(err)
		}
		s.pending = nil
		n.kpi.saveOK.Inc()
	}
	n.apply(s, b, request{})
	return nil
}

// save appends b's records, after the chat's ending mark when they end it
// (finish.go), and handles a failure of either per the HA options.
func (n *Node) save(ctx context.Context, s *session, b batch) (saveOutcome, error) {
	start := time.Now()
	err := n.markEnding(ctx, s.ID, b.evs)
	if err == nil {
		err = n.append(ctx, s.ID, b.recs, s.saveFailing)
	}
	n.kpi.saveSeconds.UpdateDuration(start)
	switch {
	case err == nil:
		s.pending = nil
		n.kpi.saveOK.Inc()
		if s.saveFailing {
			s.saveFailing = false
			return savedAgain, nil
		}
		return saved, nil
	case errors.Is(err, chat.ErrUnknownChat): // ended and removed by another node
		n.drop(s, err)
		return saved, api.ErrEnded
	case chat.IsLost(err):
		n.kpi.fenced.Inc()
		n.drop(s, err)
		return saved, api.ErrMoved
	}
	n.kpi.saveFailed.Inc()
	n.log.Warn("cannot save transcript", "chat", s.ID, "err", err)
	if n.cfg.Settings.SaveOnError == OnErrorClose {
		n.closeUnsaved(s, b)
		return saved, api.ErrSaveClosed
	}
	s.pending, s.saveFailing = b.recs, true
	return kept, nil
}

// notifySave shows every participant a Notice of a failed or recovered
// save, under transcript-auto-save=2. The notice of a recovery is appended
// like any event; the notice of a failure cannot be stored now, so it takes
// its index and seq in memory and waits with the records of the failed save
// for the next append (keep).
func (n *Node) notifySave(s *session, text string) {
	if !n.cfg.Settings.AutoSave.Notifies() {
		return
	}
	notice := chat.Entry{Type: chat.EventNotice, Text: text}
	if s.saveFailing {
		n.keep(s, notice)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*n.cfg.StoreTimeout)
	defer cancel()
	n.commit(ctx, s, request{}, notice)
}

// keep applies evs to s without storing them: they take their indexes and
// seqs now and join the records waiting for the next append.
func (n *Node) keep(s *session, evs ...chat.Entry) {
	b := n.prepare(s, request{}, evs)
	s.pending = b.recs
	n.apply(s, b, request{})
}

// apply changes s by b, and remembers the request and the file it uploaded.
func (n *Node) apply(s *session, b batch, r request) {
	wasEnded := s.Ended()
	if len(b.recs) > 0 {
		s.Taken(b.seq, n.cfg.Name)
	}
	for _, ev := range b.evs {
		s.Apply(ev)
		switch ev.Type {
		case chat.EventMessage:
			n.kpi.accepted.Inc()
		case chat.EventFileUploaded:
			s.RememberUpload(r.id, ev.Data[chat.FileID])
		}
	}
	if len(b.evs) > 0 {
		s.RememberRequest(r.id, r.print)
	}
	if s.Ended() && !wasEnded {
		n.ended(s)
	}
	s.wake()
}

// append stores recs with the configured retries. maybe says that an earlier
// append of some of them failed in a way that may have stored them all the
// same (a timeout), as a save that failed and kept its records for the next
// one (transcript-save-on-error=continue) did; a failed attempt of this call
// says so of the attempts after it. Then a seq found taken is checked
// against the stored records: the ones stored already, as recs has them,
// are not sent again, and only a record that differs (another node's) is
// the chat lost.
func (n *Node) append(ctx context.Context, id string, recs []chat.Record, maybe bool) error {
	return n.retry(ctx, func(c context.Context) error {
		err := n.cfg.Store.Append(c, id, recs)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, chat.ErrSeqTaken) && maybe:
			k, ours := n.storedPrefix(ctx, id, recs)
			switch {
			case !ours:
				return err
			case k == len(recs):
				return nil
			}
			recs = recs[k:]
			return errPartlyStored
		case !chat.IsLost(err):
			maybe = true
		}
		return err
	}, chat.IsLost)
}

// errPartlyStored is an append that found its first records stored by an
// earlier attempt; the rest is sent again.
var errPartlyStored = errors.New("the first records were stored by an earlier attempt; the rest is sent again")

// storedPrefix reads the chat's log and reports how many of recs, from the
// first, it holds as recs has them, and whether everything it holds at
// their seqs is theirs (ours is false when another writer took one).
func (n *Node) storedPrefix(ctx context.Context, id string, recs []chat.Record) (k int, ours bool) {
	c, cancel := n.storeCtx(ctx)
	defer cancel()
	_, stored, err := n.cfg.Store.Load(c, id)
	if err != nil {
		return 0, false
	}
	k = storedAlready(stored, recs)
	return k, k == len(recs) || int(recs[k].Seq)-1 >= len(stored)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// closeUnsaved ends a chat whose transcript cannot be saved
// (transcript-save-on-error=close), without a final save: an abnormal end,
// answered with statusCode 2. Its closing Notice is kept in memory only, at
// the index after those of failed, the batch whose save failed: a save that
// timed out may still have stored it, and no reader may be shown the notice
// at an index the stored transcript gives to one of its events. The node
// keeps the chat, ended, for EndedRetention, so every participant who asks
// is told it closed.
func (n *Node) closeUnsaved(s *session, failed batch) {
	n.kpi.closed.Inc()
	s.unsaved = true
	idx := s.NextIndex()
	for _, ev := range failed.evs {
		if ev.Type.Visible() {
			idx = max(idx, ev.Index+1)
		}
	}
	s.Apply(chat.Entry{Type: chat.EventNotice, Index: idx, Text: "the chat was closed: its transcript could not be saved",
		Time: n.now().UnixMilli(), End: true})
	n.chats.ended(s)
	s.wake()
	n.log.Warn("chat closed without final save", "chat", s.ID)
}

// endRetryMax bounds the pause between two rounds of storing an ended chat.
const endRetryMax = 5 * time.Second

// ended counts a chat's end and stores it in the background: the records a
// store outage left pending, then its final transcript (finish.go).
func (n *Node) ended(s *session) {
	n.kpi.closed.Inc()
	n.log.Info("chat ended", "chat", s.ID)
	n.chats.ended(s)
	n.finishLater(s.ID, slices.Clone(s.pending), s.Final(n.finalKeeps), n.cfg.FinalSaveDelay, "")
}

// untilStored runs fn with retry's attempts, round after round, until it
// succeeds, fails for good (final), or ctx ends; the pause between rounds
// starts at transcript-resend-delay and doubles up to endRetryMax.
func (n *Node) untilStored(ctx context.Context, fn func(context.Context) error, final func(error) bool) error {
	delay := max(n.cfg.Settings.ResendDelay, 10*time.Millisecond)
	for {
		err := n.retry(ctx, fn, final)
		if err == nil || final(err) || !sleep(ctx, delay) {
			return err
		}
		delay = min(2*delay, endRetryMax)
	}
}

// retry runs fn with a store timeout, again after each failure, up to
// transcript-resend-attempts more times with transcript-resend-delay between;
// an error for which final is true ends it at once.
func (n *Node) retry(ctx context.Context, fn func(context.Context) error, final func(error) bool) error {
	var err error
	for attempt := 0; attempt <= n.cfg.Settings.ResendAttempts; attempt++ {
		if attempt > 0 && !sleep(ctx, n.cfg.Settings.ResendDelay) {
			break
		}
		c, cancel := n.storeCtx(ctx)
		err = fn(c)
		cancel()
		if err == nil || final(err) {
			return err
		}
	}
	return err
}

// never is the final-error test of operations retried whatever failed.
func never(error) bool { return false }
