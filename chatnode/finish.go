package chatnode

import (
	"context"
	"errors"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
)

// Finishing an ended chat. A chat's end is stored in steps: the chat's
// ending mark (chat.Endings), then its end record, which makes the end
// durable and is acknowledged, then, in the background, its final
// transcript with its outbox entry, the deletion of its live rows and of the
// mark (chat.Finisher.FinishChat). The node may die at any step; another
// node finishes what it left:
//   - before the end record is stored: the chat did not end. It goes on on
//     another node, and the node that finds its mark due drops the mark.
//   - after it: any node that loads the chat (a participant asks about it)
//     finds it ended and finishes it at once (takeOver); if nobody asks, the
//     node that finds its mark due loads and finishes it (finishDue).
//   - during FinishChat: either way takes it again from the start; the store
//     makes a repeated or concurrent finish store one transcript, queue it
//     once, and never bring back an erased chat.
//
// A mark is due once the node that wrote it would have given up storing
// the end and the final transcript, each with every retry (finishAfter): a
// live node is rarely second-guessed, and when it is, the finish is the same.

// finishAfter is twice the longest a save takes with its retries: the end
// record, then the final transcript. A chat still marked as ending that
// long after its mark was written, or a mark taken that long ago, is left
// to any node.
func (n *Node) finishAfter() time.Duration {
	st := n.cfg.Settings
	save := time.Duration(st.ResendAttempts+1)*n.cfg.StoreTimeout + time.Duration(st.ResendAttempts)*st.ResendDelay
	return 2 * save
}

// markEnding writes the ending mark of a chat whose next append, evs,
// ends it; evs that do not end it write nothing.
func (n *Node) markEnding(ctx context.Context, id string, evs []chat.Entry) error {
	for _, ev := range evs {
		if ev.End {
			due := n.now().Add(n.finishAfter())
			return n.retry(ctx, func(c context.Context) error { return n.cfg.Store.MarkEnding(c, id, due) }, never)
		}
	}
	return nil
}

// finishLater stores an ended chat in the background, after wait: the
// records a store outage left pending (the end may be one), then its final
// transcript; an erasure waits for it (pendingFinals). finisher names, in
// the log, why this node finishes a chat another node ended ("": its own
// end).
func (n *Node) finishLater(id string, pending []chat.Record, final []byte, wait time.Duration, finisher string) {
	done := n.finals.start(id, len(pending) > 0)
	n.wg.Go(func() {
		defer done()
		if wait > 0 && !sleep(n.stopped, wait) {
			return // stopping: the chat's mark leaves it to another node
		}
		n.saveFinal(id, pending, final, finisher)
	})
}

// saveFinal stores what an ended chat has not stored yet: first the
// records a store outage left pending (transcript-save-on-error=continue),
// after its ending mark and fenced like every append, so a node that lost
// the chat meanwhile stores nothing; then the final transcript, with the
// retention of transcript-retention and, with an archive webhook, its
// outbox entry in the same write; a chat with a log in the store
// (transcript-auto-save 1 and 2) is finished (FinishChat: its live rows and
// mark go too, and it is stored only once). Each step is tried round after
// round until the store takes it or the node stops, since an ended chat has
// no next append to carry it; a node that stops first leaves a chat with a
// log to whichever node finds its mark due. A chat erased before the save
// is not saved; one erased during it is erased again after it.
func (n *Node) saveFinal(id string, pending []chat.Record, final []byte, finisher string) {
	if n.erased.has(id) {
		return
	}
	ctx := n.stopped
	if len(pending) > 0 {
		due := n.now().Add(n.finishAfter())
		err := n.untilStored(ctx, func(c context.Context) error {
			if err := n.cfg.Store.MarkEnding(c, id, due); err != nil {
				return err
			}
			return n.append(c, id, pending, true) // a save of them failed, and may have stored some
		}, chat.IsLost)
		if err != nil {
			n.log.Error("cannot save the end of chat; another node took it over, or the node stopped first", "chat", id, "err", err)
			return
		}
	}
	f := chat.Final{ChatID: id, Data: final, Retention: n.cfg.Settings.TranscriptRetention, Deliver: n.cfg.Archive != nil}
	saved, err := n.storeFinal(ctx, f)
	switch {
	case err != nil && n.cfg.Settings.AutoSave.Appends():
		n.log.Error("cannot finish chat; another node finishes it when its ending mark is due", "chat", id, "err", err)
		return
	case err != nil:
		n.log.Error("cannot save final transcript", "chat", id, "err", err)
		return
	case n.erased.has(id): // erased while it was saved
		n.eraseLate(id)
		return
	}
	if finisher != "" { // stored by this call or, after a store timeout, by its first try
		n.log.Info("chat finished: final transcript saved", "chat", id, "because", finisher, "queued", f.Deliver && saved)
	}
	if saved && f.Deliver {
		n.cfg.Archive()
	}
}

// storeFinal stores f until the store takes it or ctx ends, and reports
// whether this call stored the transcript: a chat with a log is finished
// (FinishChat), one without (transcript-auto-save=0) has its transcript
// saved.
func (n *Node) storeFinal(ctx context.Context, f chat.Final) (bool, error) {
	if !n.cfg.Settings.AutoSave.Appends() {
		return true, n.untilStored(ctx, func(c context.Context) error { return n.cfg.Store.SaveTranscript(c, f) }, never)
	}
	saved := false
	err := n.untilStored(ctx, func(c context.Context) error {
		stored, err := n.cfg.Store.FinishChat(c, f)
		saved = saved || stored
		return err
	}, never)
	return saved, err
}

// finishBatch bounds the marks one round takes on; the next round takes the rest.
const finishBatch = 16

// finishDue settles the marks due now, one after another; the node runs it
// each FinishInterval.
func (n *Node) finishDue() {
	ctx, cancel := n.storeCtx(context.Background())
	marks, err := n.cfg.Store.DueEndings(ctx, n.now(), finishBatch)
	cancel()
	if err != nil {
		n.log.Warn("cannot read the ending marks of chats", "err", err)
		return
	}
	for _, m := range marks {
		if n.stopped.Err() != nil {
			return
		}
		n.settle(m)
	}
}

// settle takes a due mark, so no other node looks at the chat before this
// one could have settled it, and then loads the chat: one whose log ends
// with its end is finished here; one that did not end, or is gone
// (finished, erased, expired), only loses its mark. A node that dies
// meanwhile leaves the mark due again once taken for long enough, longer
// after each try.
func (n *Node) settle(m chat.Ending) {
	ctx := context.Background()
	c, cancel := n.storeCtx(ctx)
	_, err := n.cfg.Store.TakeEnding(c, m, n.now().Add(n.finishAfter()<<min(m.Attempts, 5)))
	cancel()
	if err != nil {
		if !errors.Is(err, chat.ErrLeaseLost) {
			n.log.Warn("cannot take the ending mark of a chat", "chat", m.ChatID, "err", err)
		}
		return
	}
	s, err := n.load(ctx, m.ChatID)
	switch {
	case errors.Is(err, api.ErrUnknownChat) || errors.Is(err, api.ErrEnded) || (err == nil && n.erased.has(m.ChatID)):
		n.unmark(m.ChatID)
	case err != nil:
		n.log.Warn("cannot load a chat marked as ending; trying again later", "chat", m.ChatID, "err", err)
	case !s.Ended():
		n.log.Info("chat marked as ending did not end: its end was never stored, and it goes on", "chat", m.ChatID)
		n.unmark(m.ChatID)
	default:
		done := n.finals.start(m.ChatID, false)
		defer done()
		n.saveFinal(m.ChatID, nil, s.Final(n.finalKeeps), "its node stopped before its final save")
	}
}

// unmark removes a chat's ending mark; one left behind only comes due again.
func (n *Node) unmark(id string) {
	err := n.retry(context.Background(), func(c context.Context) error { return n.cfg.Store.ClearEnding(c, id) }, never)
	if err != nil {
		n.log.Warn("cannot clear the ending mark of a chat", "chat", id, "err", err)
	}
}
