package chatnode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chatnode"
)

// stalledFinal holds every FinishChat until release is closed, as a node
// that stopped between a chat's end and its final save; each FinishChat
// that then runs sends whether it stored the transcript to returned.
type stalledFinal struct {
	chat.Store
	release  chan struct{}
	once     sync.Once
	returned chan bool
}

func (s *stalledFinal) FinishChat(ctx context.Context, f chat.Final) (bool, error) {
	<-s.release
	saved, err := s.Store.FinishChat(ctx, f)
	s.returned <- saved
	return saved, err
}

func (s *stalledFinal) unblock() { s.once.Do(func() { close(s.release) }) }

// finishPair is two nodes on one SQLite file: a, whose final saves stall,
// which reads no marks, and whose marks are due half a second after its
// chats end, and b, which logs to logs and counts the archive kicks of what
// it queues.
type finishPair struct {
	a, b    *chatnode.Node
	stalled *stalledFinal
	st      chat.Store // b's
	kicks   atomic.Int32
	mu      sync.Mutex // guards logs
	logs    bytes.Buffer
}

func newFinishPair(t *testing.T, editB ...func(*chatnode.Config)) *finishPair {
	path := filepath.Join(t.TempDir(), "shared.db")
	p := &finishPair{stalled: &stalledFinal{Store: openStore(t, path), release: make(chan struct{}), returned: make(chan bool, 4)}}
	p.a = newNode(t, "a", p.stalled, func(c *chatnode.Config) {
		c.StoreTimeout, c.Settings.ResendAttempts = 250*time.Millisecond, 0 // marks due after 500ms
		c.FinishInterval = time.Hour                                        // a stopped node reads no marks
		c.Archive = func() {}
	})
	t.Cleanup(p.stalled.unblock) // before a closes: it waits for its final saves
	p.st = openStore(t, path)
	p.b = newNode(t, "b", p.st, append([]func(*chatnode.Config){func(c *chatnode.Config) {
		c.Archive = func() { p.kicks.Add(1) }
		c.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &p.logs, mu: &p.mu}, nil))
	}}, editB...)...)
	return p
}

func (p *finishPair) logged(s string) bool { return strings.Contains(p.logText(), s) }

// logText returns what b logged so far.
func (p *finishPair) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// endOnA creates a chat on a, sends a message and disconnects: the end is
// stored and acknowledged, the final save stalls.
func (p *finishPair) endOnA(t *testing.T) handle {
	t.Helper()
	c, _ := createChat(t, p.a, url.Values{"nickname": {"Ann"}})
	c.send(t, p.a, "my order 42")
	if r := c.do(t, p.a, "disconnect"); r.Status != 200 || !r.ChatEnded {
		t.Fatalf("disconnect: %+v", r)
	}
	return c
}

// transcriptOf returns the chat's final transcript, nil while there is none.
func transcriptOf(t *testing.T, st chat.Store, id string) *chat.Transcript {
	t.Helper()
	data, err := st.Transcript(t.Context(), id)
	if errors.Is(err, chat.ErrUnknownChat) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var tr chat.Transcript
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	return &tr
}

// outboxOf counts the chat's outbox entries and ending marks.
func outboxOf(t *testing.T, st chat.Store, id string) (entries, marks int) {
	t.Helper()
	far := time.Now().Add(24 * time.Hour)
	ds, err := st.DueDeliveries(t.Context(), far, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.ChatID == id {
			entries++
		}
	}
	es, err := st.DueEndings(t.Context(), far, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.ChatID == id {
			marks++
		}
	}
	return entries, marks
}

// TestEndFinishedByAnotherNodeNobodyAsking: a chat's end is stored and
// acknowledged on a, whose final save then never comes; nobody asks about
// the chat again. b finds its ending mark due and finishes it: the final
// transcript holds the chat to its end, it is queued once for the archive,
// the live rows and the mark are gone. When a's save finally runs, it
// stores and queues nothing more.
func TestEndFinishedByAnotherNodeNobodyAsking(t *testing.T) {
	p := newFinishPair(t)
	c := p.endOnA(t)
	// The transcript is stored first; the log line and the archive's kick
	// come after it.
	pollFor(t, "b to finish the chat", func() bool { return transcriptOf(t, p.st, c.id) != nil && p.kicks.Load() > 0 })
	tr := transcriptOf(t, p.st, c.id)
	if n := len(tr.Messages); n < 3 || tr.Messages[1].Text != "my order 42" || tr.Messages[n-1].Type != "ParticipantLeft" || tr.EndedAt == 0 {
		t.Fatalf("the transcript b saved: %+v", tr)
	}
	if !p.logged("chat finished") || !p.logged("its node stopped before its final save") || p.kicks.Load() != 1 {
		t.Fatalf("b's logs (kicks %d):\n%s", p.kicks.Load(), p.logText())
	}
	if _, _, err := p.st.Load(t.Context(), c.id); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Load of the finished chat: %v", err)
	}
	if entries, marks := outboxOf(t, p.st, c.id); entries != 1 || marks != 0 {
		t.Fatalf("%d outbox entries, %d marks; want 1 and 0", entries, marks)
	}
	p.stalled.unblock()
	if <-p.stalled.returned {
		t.Fatal("a's late final save stored the transcript again")
	}
	if entries, _ := outboxOf(t, p.st, c.id); entries != 1 {
		t.Fatalf("%d outbox entries after a's late save, want 1", entries)
	}
	if again := transcriptOf(t, p.st, c.id); again.EndedAt != tr.EndedAt || len(again.Messages) != len(tr.Messages) {
		t.Fatalf("the transcript changed: %+v, was %+v", again, tr)
	}
}

// TestEndedChatLoadedIsFinished: a participant asking about a chat whose
// node stopped before its final save is answered that it ended, and the
// node that loaded the chat finishes it at once, long before any mark is
// read.
func TestEndedChatLoadedIsFinished(t *testing.T) {
	p := newFinishPair(t, func(c *chatnode.Config) { c.FinishInterval = time.Hour })
	c := p.endOnA(t)
	if r := c.do(t, p.b, "refresh"); r.Status != 200 || !r.ChatEnded || r.Alias != "b" {
		t.Fatalf("refresh on b: %+v", r)
	}
	pollFor(t, "b to finish the chat it loaded", func() bool {
		return transcriptOf(t, p.st, c.id) != nil && p.logged("chat finished") // the log line follows the save
	})
	if !p.logged("it was loaded ended") {
		t.Fatalf("b's logs:\n%s", p.logText())
	}
	if entries, marks := outboxOf(t, p.st, c.id); entries != 1 || marks != 0 {
		t.Fatalf("%d outbox entries, %d marks; want 1 and 0", entries, marks)
	}
}

// TestMarkOfChatThatDidNotEndIsDropped: a's disconnect writes the chat's
// ending mark, but its end record is refused (b took the chat over
// meanwhile): the chat did not end. b finds the mark due, sees the chat
// going on, and drops the mark without saving anything; the chat goes on.
func TestMarkOfChatThatDidNotEndIsDropped(t *testing.T) {
	p := newFinishPair(t)
	c, _ := createChat(t, p.a, url.Values{"nickname": {"Ann"}})
	c.send(t, p.b, "on b now")
	if r := c.do(t, p.a, "disconnect"); r.Status != 409 || r.ChatEnded {
		t.Fatalf("disconnect on the node that lost the chat: %+v", r)
	}
	if _, marks := outboxOf(t, p.st, c.id); marks != 1 {
		t.Fatalf("%d marks after the refused end, want 1", marks)
	}
	pollFor(t, "b to drop the mark", func() bool { _, marks := outboxOf(t, p.st, c.id); return marks == 0 })
	if !p.logged("did not end") {
		t.Fatalf("b's logs:\n%s", p.logText())
	}
	if tr := transcriptOf(t, p.st, c.id); tr != nil {
		t.Fatalf("a transcript of a chat that goes on: %+v", tr)
	}
	if r := c.send(t, p.b, "still here"); r.ChatEnded {
		t.Fatalf("the chat ended: %+v", r)
	}
}

// TestErasedBeforeItsFinishStaysErased: a chat whose node stopped before
// its final save is erased through another node, its mark with it; the
// stopped node's late save brings nothing of it back.
func TestErasedBeforeItsFinishStaysErased(t *testing.T) {
	p := newFinishPair(t, func(c *chatnode.Config) { c.ClusterToken = adminToken })
	c := p.endOnA(t)
	var e api.Erasure
	if status := admin(t, p.b, "POST", "/v1/admin/erase/"+c.id, &e); status != 200 || !e.Erased.Session {
		t.Fatalf("erase on b: %d %+v", status, e)
	}
	p.stalled.unblock()
	if <-p.stalled.returned {
		t.Fatal("the late final save stored the transcript of an erased chat")
	}
	if tr := transcriptOf(t, p.st, c.id); tr != nil {
		t.Fatalf("an erased chat has a transcript again: %+v", tr)
	}
	if entries, marks := outboxOf(t, p.st, c.id); entries+marks > 0 {
		t.Fatalf("an erased chat has %d outbox entries and %d marks", entries, marks)
	}
}
