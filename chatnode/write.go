package chatnode

import (
	"github.com/chatha/chatha/api"

	"github.com/chatha/chatha/chat"

	"bytes"
	"context"
	"errors"
	"time"
)

// inTranscript reports whether events of type t take a transcript index
// (otherwise they are transient or internal).
func (n *Node) inTranscript(t chat.EventType) bool {
	switch t {
	case chat.EventTypingStarted, chat.EventTypingStopped:
		return n.cfg.Settings.SaveNotices == NoticesAll
	case chat.EventNotice, chat.EventCustomNotice, chat.EventPushURL, chat.EventIdleAlert:
		return n.cfg.Settings.SaveNotices != NoticesNone
	}
	return t.Visible()
}

// request is what a change is known by for retries: its X-Request-Id ("":
// none) and the fingerprint of what it asks (api.Request.Fingerprint).
type request struct{ id, print string }

// batch is a change prepared for storing: its events with indexes assigned and
// the records to append.
type batch struct {
	evs     []chat.Entry
	inT     []bool
	recs    []chat.Record
	seq     uint64 // the session's seq once stored
	lasting bool   // some event is in the transcript or changes state: not transient
}

// prepare assigns indexes and sequence numbers to evs without changing s.
// The first lasting event carries the request's fingerprint, so the request
// id and what it asked are stored together.
func (n *Node) prepare(s *session, r request, evs []chat.Entry) batch {
	b := batch{evs: evs, inT: make([]bool, len(evs)), seq: s.Seq()}
	if n.cfg.Settings.AutoSave.Appends() {
		b.recs = append(b.recs, s.pending...)
	}
	idx, now := s.NextIndex(), n.now().UnixMilli()
	for i := range evs {
		ev := &evs[i]
		if ev.Time == 0 {
			ev.Time = now
		}
		ev.Node = n.cfg.Name
		if b.inT[i] = n.inTranscript(ev.Type); b.inT[i] {
			ev.Index, idx = idx, idx+1
		}
		if !b.inT[i] && ev.Type.Visible() {
			continue // transient: shown once, never stored
		}
		if !b.lasting && r.id != "" {
			ev.Print = r.print
		}
		b.lasting = true
		if n.cfg.Settings.AutoSave.Appends() {
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
	if len(b.recs) > 0 {
		if err := n.save(ctx, s, b); err != nil {
			return err
		}
	}
	n.apply(s, b, r)
	return nil
}

// save appends b's records and handles a failure per the HA options.
func (n *Node) save(ctx context.Context, s *session, b batch) error {
	start := time.Now()
	err := n.append(ctx, s.ID, b.recs)
	n.kpi.saveSeconds.UpdateDuration(start)
	switch {
	case err == nil:
		s.pending = nil
		n.kpi.saveOK.Inc()
		if s.saveFailing {
			s.saveFailing = false
			n.notifySave(s, "the transcript is being saved again")
		}
		return nil
	case errors.Is(err, chat.ErrUnknownChat): // ended and removed by another node
		n.drop(s, err)
		return api.ErrEnded
	case chat.IsLost(err):
		n.kpi.fenced.Inc()
		n.drop(s, err)
		return api.ErrMoved
	}
	n.kpi.saveFailed.Inc()
	n.log.Warn("cannot save transcript", "chat", s.ID, "err", err)
	if n.cfg.Settings.SaveOnError == OnErrorClose {
		n.closeUnsaved(s)
		return api.ErrSaveClosed
	}
	s.pending, s.saveFailing = b.recs, true
	n.notifySave(s, "the transcript could not be saved; the chat goes on")
	return nil
}

// notifySave shows every participant a transient Notice under transcript-auto-save=2.
func (n *Node) notifySave(s *session, text string) {
	if n.cfg.Settings.AutoSave.Notifies() {
		s.Apply(chat.Entry{Type: chat.EventNotice, Text: text, Time: n.now().UnixMilli()}, false)
	}
}

// apply changes s by b, and remembers the request of a lasting change: a
// transient one (typing) is not stored, so a restore could not remember it
// either.
func (n *Node) apply(s *session, b batch, r request) {
	wasEnded := s.Ended()
	if len(b.recs) > 0 {
		s.Taken(b.seq, n.cfg.Name)
	}
	for i := range b.evs {
		s.Apply(b.evs[i], b.inT[i])
		if b.evs[i].Type == chat.EventMessage {
			n.kpi.accepted.Inc()
		}
	}
	if b.lasting {
		s.RememberRequest(r.id, r.print)
	}
	if s.Ended() && !wasEnded {
		n.ended(s)
	}
}

// append stores recs with the configured retries. An append that failed in a
// way that may still have stored it, then finds its seq taken, checks whether
// the stored records are its own.
func (n *Node) append(ctx context.Context, id string, recs []chat.Record) error {
	ambiguous := false
	return n.retry(ctx, func(c context.Context) error {
		err := n.cfg.Store.Append(c, id, recs)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, chat.ErrSeqTaken) && ambiguous && n.storedAlready(ctx, id, recs):
			return nil
		case !chat.IsLost(err):
			ambiguous = true
		}
		return err
	}, chat.IsLost)
}

func (n *Node) storedAlready(ctx context.Context, id string, recs []chat.Record) bool {
	c, cancel := n.storeCtx(ctx)
	defer cancel()
	_, stored, err := n.cfg.Store.Load(c, id)
	if err != nil {
		return false
	}
	for _, r := range recs {
		i := int(r.Seq) - 1
		if i >= len(stored) || stored[i].Seq != r.Seq || !bytes.Equal(stored[i].Data, r.Data) {
			return false
		}
	}
	return true
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
// (transcript-save-on-error=close), without a final save. The node keeps it,
// ended, for EndedRetention, so every participant who asks is told it closed.
func (n *Node) closeUnsaved(s *session) {
	n.kpi.closed.Inc()
	s.Apply(chat.Entry{Type: chat.EventNotice, Text: "the chat was closed: its transcript could not be saved", Time: n.now().UnixMilli(), End: true}, false)
	n.chats.ended(s)
	n.log.Warn("chat closed without final save", "chat", s.ID)
}

// ended counts a chat's end and saves its final transcript in the background.
func (n *Node) ended(s *session) {
	n.kpi.closed.Inc()
	n.log.Info("chat ended", "chat", s.ID)
	n.chats.ended(s)
	final := s.Final()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.saveFinal(s.ID, final)
	}()
}

// saveFinal writes the final transcript, then deletes the intermediate rows.
func (n *Node) saveFinal(id string, final []byte) {
	ctx := context.Background()
	err := n.retry(ctx, func(c context.Context) error { return n.cfg.Store.SaveTranscript(c, id, final) }, never)
	if err != nil {
		n.log.Error("cannot save final transcript; intermediate rows stay until their TTL", "chat", id, "err", err)
		return
	}
	if !n.cfg.Settings.AutoSave.Appends() {
		return
	}
	if err := n.retry(ctx, func(c context.Context) error { return n.cfg.Store.Delete(c, id) }, never); err != nil {
		n.log.Warn("cannot delete intermediate rows; they stay until their TTL", "chat", id, "err", err)
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
