package chatnode

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chatid"
)

// Erasure on request (a customer's right to be forgotten). A chat is erased
// on the node that holds it, as the proxy routes it there: a live chat is
// ended first, by dropping it from memory, so no further change of it is
// stored, then every row of it goes from the store (chat.Eraser). For
// EndedRetention afterwards the node answers requests for the chat that it
// was closed and erased (api.ErrErased), with none of its content. A node
// that held the chat without knowing it lost it fails its next append. A
// final transcript being saved when the erasure comes is waited for, then
// erased; one not started yet is not saved. Every erasure is logged with
// what it removed, never with what that held.

// erasedChats remembers the chats erased lately, so that their
// participants are told the chat closed, and no final save stores one again.
type erasedChats struct {
	mu sync.Mutex // guards at
	// at holds when each chat was erased.
	at map[string]time.Time
}

func (e *erasedChats) add(id string, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.at == nil {
		e.at = map[string]time.Time{}
	}
	e.at[id] = now
}

func (e *erasedChats) has(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.at[id]
	return ok
}

// forget drops the chats erased before since.
func (e *erasedChats) forget(since time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, at := range e.at {
		if at.Before(since) {
			delete(e.at, id)
		}
	}
}

// pendingFinals are the final transcripts being saved, by chat, so an
// erasure can wait for one to be stored before it erases it and a node that
// stops can let them finish; it counts those that carry records a store
// outage left unsaved (transcript-save-on-error=continue).
type pendingFinals struct {
	mu sync.Mutex // guards done and unsaved
	// done holds a channel per chat whose final save runs, closed when it ends.
	done map[string]chan struct{}
	// unsaved counts the saves under way that carry unsaved records.
	unsaved int
}

// start registers the final save of a chat, which carries records not
// stored yet when unsaved is true; the save calls the returned function
// when it ends.
func (p *pendingFinals) start(id string, unsaved bool) func() {
	ch := make(chan struct{})
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		p.done = map[string]chan struct{}{}
	}
	p.done[id] = ch
	if unsaved {
		p.unsaved++
	}
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.done[id] == ch {
			delete(p.done, id)
		}
		if unsaved {
			p.unsaved--
		}
		close(ch)
	}
}

// countUnsaved returns how many saves under way carry unsaved records.
func (p *pendingFinals) countUnsaved() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unsaved
}

// wait returns when no final save of the chat runs, or ctx ends.
func (p *pendingFinals) wait(ctx context.Context, id string) {
	p.waitFor(ctx, func() chan struct{} { return p.done[id] })
}

// waitAll returns when no final save runs, or ctx ends.
func (p *pendingFinals) waitAll(ctx context.Context) {
	anyOne := func() chan struct{} {
		for _, ch := range p.done {
			return ch
		}
		return nil
	}
	for p.waitFor(ctx, anyOne) { // one save after another, until none runs
	}
}

// waitFor waits for the save pick names (it runs with p.mu held; nil: none)
// and reports whether that save ended: false when there was none, or ctx
// ended first.
func (p *pendingFinals) waitFor(ctx context.Context, pick func() chan struct{}) bool {
	p.mu.Lock()
	ch := pick()
	p.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// Erase erases one chat's data everywhere: a chat this node holds is ended
// first (dropped, its participants told it closed), then its rows in every
// table of the store go. It says what was removed.
func (n *Node) Erase(ctx context.Context, id string) (api.Erasure, error) {
	if _, err := chatid.Parse(id); err != nil {
		return api.Erasure{}, api.BadRequest("%.40q is not a chat id", id)
	}
	n.erased.add(id, n.now())
	live := n.endForErasure(id)
	wait, cancel := context.WithTimeout(ctx, finalWait)
	n.finals.wait(wait, id) // one still saving after this erases it itself
	cancel()
	total, err := n.eraseStored(ctx, id)
	if err != nil {
		n.log.Warn("cannot erase chat; erase it again", "chat", id, "err", err)
		return api.Erasure{}, api.StoreFailed(err)
	}
	n.log.Info("chat erased", "chat", id, "ended_live", live, "session", total.Session, "records", total.Records,
		"files", total.Files, "transcript", total.Transcript, "outbox", total.Outbox, "claims", total.Claims, "index", total.Index)
	return api.Erasure{ChatID: id, Node: n.cfg.Name, EndedLive: live, Erased: total}, nil
}

// finalWait bounds how long an erasure waits for a final save under way,
// so that its answer counts the transcript; a save that ends later finds the
// chat erased and erases it again (eraseLate).
const finalWait = time.Second

// eraseLate erases a chat whose final transcript was saved after the chat
// was erased.
func (n *Node) eraseLate(id string) {
	total, err := n.eraseStored(context.Background(), id)
	if err != nil {
		n.log.Error("cannot erase the final transcript saved after its chat was erased; erase the chat again", "chat", id, "err", err)
		return
	}
	n.log.Info("chat erased", "chat", id, "after", "its final save", "transcript", total.Transcript, "outbox", total.Outbox,
		"records", total.Records, "index", total.Index)
}

// eraseStored erases the chat's rows with the store retries, and sums what
// each try removed.
func (n *Node) eraseStored(ctx context.Context, id string) (chat.Erased, error) {
	var total chat.Erased
	err := n.retry(ctx, func(c context.Context) error {
		got, err := n.cfg.Store.Erase(c, id)
		total = total.Add(got)
		return err
	}, never)
	return total, err
}

// endForErasure drops the chat from memory if the node holds it; it reports
// whether the chat was live (it counts as closed then).
func (n *Node) endForErasure(id string) bool {
	live := false
	n.dropHeld(id, func(s *session) {
		if live = !s.Ended(); live {
			n.kpi.closed.Inc()
		}
	})
	return live
}

// maxErasedPerCall bounds the chats one erasure by userData takes on; the
// caller asks again for the rest.
const maxErasedPerCall = 10000

// indexPage is how many chat ids one read of the userData index returns.
const indexPage = 1000

// ChatsByUserData lists the chats the store's index holds under sel's key
// and value; the key must be one of erase-index-keys.
func (n *Node) ChatsByUserData(ctx context.Context, sel api.Selector) (api.ChatList, error) {
	if !slices.Contains(n.cfg.Settings.EraseIndexKeys, sel.Key) {
		return api.ChatList{}, notIndexed(sel.Key)
	}
	var ids []string
	err := n.retry(ctx, func(c context.Context) (err error) {
		ids, err = n.cfg.Store.ChatsByUserData(c, sel.Key, sel.Value, indexPage)
		return err
	}, never)
	if err != nil {
		return api.ChatList{}, api.StoreFailed(err)
	}
	return api.ChatList{ChatIDs: append([]string{}, ids...)}, nil
}

func notIndexed(key string) error {
	return api.BadRequest("userData key %.40q is not indexed: add it to erase-index-keys (chats created before keep no index entry of it)", key)
}

// EraseByUserData erases every chat the index holds under sel, page by
// page, until none is left or a page erases nothing new. Chats another
// node holds are erased from the store here: that node fails its next
// append. Through a proxy each chat is erased on its own node instead.
func (n *Node) EraseByUserData(ctx context.Context, sel api.Selector) (api.ErasureSummary, error) {
	sum := api.ErasureSummary{Key: sel.Key, Chats: []api.Erasure{}, Failed: map[string]string{}}
	done := map[string]bool{}
	for len(done) < maxErasedPerCall {
		list, err := n.ChatsByUserData(ctx, sel)
		if err != nil {
			return sum, err
		}
		progress := false
		for _, id := range list.ChatIDs {
			if done[id] {
				continue
			}
			done[id], progress = true, true
			e, err := n.Erase(ctx, id)
			if err != nil {
				sum.Failed[id] = err.Error()
				continue
			}
			sum.Chats = append(sum.Chats, e)
		}
		if !progress || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			break
		}
	}
	n.log.Info("chats erased by userData", "key", sel.Key, "chats", len(sum.Chats), "failed", len(sum.Failed))
	return sum, nil
}

// FinalTranscript returns the final transcript of a chat as the store keeps it.
func (n *Node) FinalTranscript(ctx context.Context, id string) ([]byte, error) {
	var data []byte
	err := n.retry(ctx, func(c context.Context) (err error) {
		data, err = n.cfg.Store.Transcript(c, id)
		return err
	}, chat.IsLost)
	if errors.Is(err, chat.ErrUnknownChat) {
		return nil, api.NotFound("no final transcript of chat "+id, "the chat has not ended, its transcript's retention ran out, or it was erased")
	}
	if err != nil {
		return nil, api.StoreFailed(err)
	}
	return data, nil
}

// index records the values of the indexed userData keys of data for the
// chat, before the change that sets them is stored.
func (n *Node) index(ctx context.Context, id string, data map[string]string) error {
	pairs := n.cfg.Settings.indexed(data)
	if len(pairs) == 0 {
		return nil
	}
	err := n.retry(ctx, func(c context.Context) error { return n.cfg.Store.IndexUserData(c, id, pairs) }, never)
	if err != nil {
		n.kpi.saveFailed.Inc()
		return api.StoreFailed(err)
	}
	return nil
}
