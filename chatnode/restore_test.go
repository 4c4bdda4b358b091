package chatnode_test

import (
	"github.com/chatha/chatha/api"

	"github.com/chatha/chatha/chat"

	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatha/chatha/chatnode"
)

// twoNodes returns nodes a and b on two handles of one SQLite file, as two
// processes on one machine would have.
func twoNodes(t *testing.T, edit ...func(*chatnode.Config)) (*chatnode.Node, *chatnode.Node, string) {
	path := filepath.Join(t.TempDir(), "shared.db")
	return newNode(t, "a", openStore(t, path), edit...), newNode(t, "b", openStore(t, path), edit...), path
}

func TestRestoreOnAnotherNode(t *testing.T) {
	a, b, _ := twoNodes(t)
	c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}, "text": {"one"}})
	c.send(t, a, "two")
	got := c.do(t, b, "refresh")
	want := []string{"ParticipantJoined", "Message:one", "Message:two", "ParticipantLeft", "ParticipantJoined"}
	if got.Status != 200 || !slices.Equal(texts(got), want) || got.Alias != "b" {
		t.Fatalf("refresh on b: %d %v alias %s, want %v", got.Status, texts(got), got.Alias, want)
	}
	checkDense(t, got)
	c.send(t, b, "three")
	// a still holds the chat in memory: its append is fenced, it gives the chat up.
	stale := c.do(t, a, "send", "message", "from the stale owner")
	if stale.Status != 409 || stale.StatusCode != api.StatusRetry {
		t.Fatalf("stale owner's send: %d %+v", stale.Status, stale)
	}
	if a.Sessions() != 0 {
		t.Fatalf("a still holds %d chats", a.Sessions())
	}
	final := c.do(t, b, "refresh")
	if !slices.Equal(texts(final), append(want, "Message:three")) {
		t.Fatalf("transcript = %v", texts(final))
	}
	if k := b.KPI(); k.SessionRestored != 1 || k.SessionsCurrent != 1 {
		t.Fatalf("b kpi = %+v", k)
	}
}

func TestRestoreNoticesAndModes(t *testing.T) {
	for _, tc := range []struct {
		notices chatnode.RestoreNotices
		want    []string
	}{
		{chatnode.RestoreNoticesNotice, []string{"ParticipantJoined", "Notice:the chat moved to another server"}},
		{chatnode.RestoreNoticesNone, []string{"ParticipantJoined"}},
	} {
		t.Run(tc.notices.String(), func(t *testing.T) {
			a, b, _ := twoNodes(t, func(c *chatnode.Config) { c.Settings.RestoreNotices = tc.notices })
			c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}})
			if got := texts(c.do(t, b, "refresh")); !slices.Equal(got, tc.want) {
				t.Fatalf("transcript = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("restoration none", func(t *testing.T) {
		a, b, _ := twoNodes(t, func(c *chatnode.Config) { c.Settings.RestorationMode = chatnode.RestoreNone })
		c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}})
		if r := c.do(t, b, "refresh"); r.Status != 404 {
			t.Fatalf("refresh on b with restoration none: %d", r.Status)
		}
	})
}

func TestPurgeDropsFromMemoryOnly(t *testing.T) {
	a, b, _ := twoNodes(t)
	c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}, "text": {"kept"}})
	r := call(t, a, "POST", "/v1/admin/purge/"+c.id, nil)
	if r.Status != 200 || a.Sessions() != 0 || a.KPI().SessionPurged != 1 {
		t.Fatalf("purge: %d, sessions %d", r.Status, a.Sessions())
	}
	if got := texts(c.do(t, b, "refresh")); !slices.Contains(got, "Message:kept") {
		t.Fatalf("purge lost the stored transcript: %v", got)
	}
}

func TestEndedChatIsKeptAndGone(t *testing.T) {
	a, b, _ := twoNodes(t)
	c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}})
	c.do(t, a, "disconnect")
	// b restores the ended chat read-only, or, once the final save removed the
	// live rows, answers that it ended.
	r := c.do(t, b, "refresh")
	normal := r.Status == 200 && r.StatusCode == api.StatusOK
	gone := r.Status == 410 && r.StatusCode == api.StatusError
	if !r.ChatEnded || (!normal && !gone) {
		t.Fatalf("refresh of an ended chat on b: %d %+v", r.Status, r)
	}
	if s := c.do(t, b, "send", "message", "too late"); s.Status != 410 || !s.ChatEnded {
		t.Fatalf("send to an ended chat: %d %+v", s.Status, s)
	}
}

// TestConcurrentOwnersRace has two nodes append to one chat at once. Each
// node restores the chat whenever it does not hold it, so ownership moves back
// and forth and both hold a copy in memory most of the time. Exactly one
// append wins each sequence number, the loser gives the chat up, and every
// acknowledged message is in the transcript once.
func TestConcurrentOwnersRace(t *testing.T) {
	a, b, path := twoNodes(t)
	c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}})
	c.do(t, b, "refresh") // b restores: both nodes hold the chat now
	var acked sync.Map
	var lost atomic.Int64
	var wg sync.WaitGroup
	for _, n := range []*chatnode.Node{a, b} {
		wg.Add(1)
		go func(n *chatnode.Node) {
			defer wg.Done()
			for i := range 40 {
				text := fmt.Sprintf("%s-%d", n.Name(), i)
				form := url.Values{"userId": {c.user}, "secureKey": {c.key}, "message": {text}}
				for attempt := 0; attempt < 20; attempt++ {
					r := call(t, n, "POST", "/genesys/2/chat/support/"+c.id+"/send", form, "X-Request-Id", text)
					if r.Status == 200 {
						acked.Store(text, true)
						break
					}
					if r.StatusCode != api.StatusRetry {
						t.Errorf("send %s: %d %+v", text, r.Status, r.Errors)
						return
					}
					lost.Add(1)
				}
			}
		}(n)
	}
	wg.Wait()
	if lost.Load() == 0 {
		t.Fatal("no append was ever fenced: the nodes did not race")
	}
	final := c.do(t, newNode(t, "judge", openStore(t, path)), "refresh")
	checkDense(t, final)
	seen := map[string]int{}
	for _, m := range final.Messages {
		if m.Type == "Message" {
			seen[m.Text]++
		}
	}
	acked.Range(func(k, _ any) bool {
		if seen[k.(string)] != 1 {
			t.Errorf("acknowledged %s appears %d times", k, seen[k.(string)])
		}
		return true
	})
	for text, count := range seen {
		if count != 1 {
			t.Errorf("%s appears %d times", text, count)
		}
	}
	for _, n := range []*chatnode.Node{a, b} {
		if got := n.Sessions(); got < 0 || got > 1 {
			t.Errorf("%s counts %d live chats, holding at most one", n.Name(), got)
		}
	}
	t.Logf("%d messages stored, %d fenced appends", len(seen), lost.Load())
}

// flaky is a store whose writes fail while broken is set.
type flaky struct {
	chat.Store
	broken  atomic.Bool
	refused atomic.Int64 // writes refused while broken
}

var errBroken = errors.New("store is down")

func (f *flaky) Append(ctx context.Context, id string, recs []chat.Record) error {
	if f.broken.Load() {
		f.refused.Add(1)
		return errBroken
	}
	return f.Store.Append(ctx, id, recs)
}

func (f *flaky) SaveTranscript(ctx context.Context, final chat.Final) error {
	if f.broken.Load() {
		f.refused.Add(1)
		return errBroken
	}
	return f.Store.SaveTranscript(ctx, final)
}

func TestSaveOnErrorClose(t *testing.T) {
	st := &flaky{Store: tempStore(t)}
	n := newNode(t, "a", st)
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	st.broken.Store(true)
	r := c.do(t, n, "send", "message", "lost")
	if r.Status != 503 || r.StatusCode != api.StatusError || !r.ChatEnded {
		t.Fatalf("send on a broken store: %d %+v", r.Status, r)
	}
	if k := n.KPI(); k.TranscriptSaveFailed != 1 || k.SessionsCurrent != 0 || k.MessagesAccepted != 0 {
		t.Fatalf("kpi = %+v", k)
	}
	// Whoever asks later is told why the chat ended, as the sender was: a
	// client whose answer was lost retries, and must not take the close for
	// a normal end.
	j := call(t, n, "POST", "/agent/1/chat/"+c.id+"/join", url.Values{"nickname": {"Bob"}})
	if j.Status != 503 || j.StatusCode != api.StatusError || !j.ChatEnded || j.Errors[0].Code != api.CodeStore {
		t.Fatalf("an agent's join of a chat closed for a failed save: %d %+v", j.Status, j)
	}
	d := c.do(t, n, "disconnect")
	if d.Status != 503 || d.StatusCode != api.StatusError || !d.ChatEnded || d.Errors[0].Code != api.CodeStore {
		t.Fatalf("a disconnect after the close: %d %+v, want the close told again", d.Status, d)
	}
	r = c.do(t, n, "refresh", "transcriptPosition", "1")
	if !r.ChatEnded || r.StatusCode != api.StatusError || slices.Contains(texts(r), "Message:lost") {
		t.Fatalf("refresh after the close: %d %v, want an abnormal end (statusCode 2)", r.StatusCode, texts(r))
	}
	checkIncreasing(t, r)
}

// landing is a store whose appends, while late is set, are stored and then
// answered with an error, as a call that timed out after the store took it;
// while down is set they fail without being stored.
type landing struct {
	chat.Store
	late, down atomic.Bool
}

func (l *landing) Append(ctx context.Context, id string, recs []chat.Record) error {
	if l.down.Load() {
		return errBroken
	}
	err := l.Store.Append(ctx, id, recs)
	if l.late.Load() { // every attempt times out, the first one stored
		return errBroken
	}
	return err
}

// TestSaveOnErrorCloseAfterLateSave: a save that failed may have been stored
// all the same. The notice of the close is not shown at an index the stored
// transcript gives to another event.
func TestSaveOnErrorCloseAfterLateSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.db")
	st := &landing{Store: openStore(t, path)}
	n := newNode(t, "a", st, func(c *chatnode.Config) { c.Settings.ResendAttempts = 0 })
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	st.late.Store(true)
	if r := c.do(t, n, "send", "message", "late"); r.Status != 503 || !r.ChatEnded {
		t.Fatalf("send answered with an error after it was stored: %d %+v", r.Status, r)
	}
	r := c.do(t, n, "refresh", "transcriptPosition", "1")
	checkIncreasing(t, r)
	stored := map[int]string{}
	for _, rec := range storedRecords(t, path, c.id) {
		e, err := chat.DecodeEntry(rec.Data)
		if err != nil {
			t.Fatal(err)
		}
		if e.Index > 0 {
			stored[e.Index] = e.Type.String() + ":" + e.Text
		}
	}
	if !slices.Contains(slices.Collect(maps.Values(stored)), "Message:late") {
		t.Fatalf("the store did not take the late message: %v", stored)
	}
	for _, m := range r.Messages {
		if text, ok := stored[m.Index]; ok && text != m.Type+":"+m.Text {
			t.Errorf("index %d: the reader was shown %s:%s, the store holds %s", m.Index, m.Type, m.Text, text)
		}
	}
}

func TestSaveOnErrorContinue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	st := &flaky{Store: openStore(t, path)}
	n := newNode(t, "a", st, func(c *chatnode.Config) {
		c.Settings.SaveOnError = chatnode.OnErrorContinue
		c.Settings.AutoSave = chatnode.AutoSaveNotify
		c.SweepInterval = time.Hour // the next append saves what was kept, not the sweep
	})
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	st.broken.Store(true)
	r := c.do(t, n, "send", "message", "kept in memory", "transcriptPosition", "2")
	if r.Status != 200 || !slices.Contains(texts(r), "Notice:the transcript could not be saved; the chat goes on") {
		t.Fatalf("send on a broken store: %d %v", r.Status, texts(r))
	}
	st.broken.Store(false)
	c.send(t, n, "saved with the one before")
	onA := c.do(t, n, "refresh")
	restored := c.do(t, newNode(t, "b", openStore(t, path)), "refresh")
	checkDense(t, restored)
	want := []string{"ParticipantJoined", "Message:kept in memory", "Notice:the transcript could not be saved; the chat goes on",
		"Message:saved with the one before", "Notice:the transcript is being saved again"}
	if got := texts(restored); !slices.Equal(got[:len(want)], want) || !slices.Equal(texts(onA), want) {
		t.Fatalf("transcript on a %v, restored on b %v; want %v first, at the same indexes", texts(onA), got, want)
	}
}

// TestRestoreNotStoredIsRetried: a node whose store fails cannot store the
// restore notices that fence a chat's owner, so it neither serves the chat
// from memory (continue) nor closes it (close): it answers "retry", holds
// nothing, and the owner goes on; once its store works, it restores the chat.
func TestRestoreNotStoredIsRetried(t *testing.T) {
	for _, mode := range []chatnode.SaveOnError{chatnode.OnErrorClose, chatnode.OnErrorContinue} {
		t.Run(mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.db")
			a := newNode(t, "a", openStore(t, path))
			st := &flaky{Store: openStore(t, path)}
			b := newNode(t, "b", st, func(c *chatnode.Config) { c.Settings.SaveOnError = mode })
			c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}, "text": {"one"}})
			st.broken.Store(true)
			for _, action := range []string{"refresh", "send"} {
				r := c.do(t, b, action, "message", "not acknowledged")
				if r.Status != 503 || r.StatusCode != api.StatusRetry || r.ChatEnded {
					t.Fatalf("%s on b while its store fails: %d %+v, want 503 statusCode 1", action, r.Status, r)
				}
			}
			if got := b.Sessions(); got != 0 {
				t.Fatalf("b holds %d chats after restores it could not store", got)
			}
			c.send(t, a, "two")
			st.broken.Store(false)
			got := texts(c.do(t, b, "refresh"))
			want := []string{"ParticipantJoined", "Message:one", "Message:two", "ParticipantLeft", "ParticipantJoined"}
			if !slices.Equal(got, want) {
				t.Fatalf("transcript restored on b = %v, want %v", got, want)
			}
		})
	}
}

// health is a store whose availability the test sets.
type health struct {
	chat.Store
	available atomic.Bool
}

func (h *health) Available() bool { return h.available.Load() }

// TestReadyWhileStoreUnavailable: a node is unready while its store is
// unavailable, unless it goes on without it (transcript-save-on-error=continue).
func TestReadyWhileStoreUnavailable(t *testing.T) {
	for _, tc := range []struct {
		mode chatnode.SaveOnError
		want bool
	}{
		{chatnode.OnErrorClose, false},
		{chatnode.OnErrorContinue, true},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			st := &health{Store: tempStore(t)}
			st.available.Store(true)
			n := newNode(t, "a", st, func(c *chatnode.Config) { c.Settings.SaveOnError = tc.mode })
			if !n.Ready() {
				t.Fatal("unready with its store available")
			}
			st.available.Store(false)
			if got := n.Ready(); got != tc.want {
				t.Fatalf("Ready() = %v with its store unavailable, want %v", got, tc.want)
			}
		})
	}
}

// TestContinueEndSavedOnceStoreIsBack: a chat that ends while its node goes
// on without the store (transcript-save-on-error=continue) has its last
// records and its final transcript saved once the store is back, though no
// append follows the end.
func TestContinueEndSavedOnceStoreIsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	st := &flaky{Store: openStore(t, path)}
	n := newNode(t, "a", st, func(c *chatnode.Config) { c.Settings.SaveOnError = chatnode.OnErrorContinue })
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	st.broken.Store(true)
	c.send(t, n, "kept in memory")
	if r := c.do(t, n, "disconnect"); r.Status != 200 || !r.ChatEnded {
		t.Fatalf("disconnect while the store fails: %d %+v", r.Status, r)
	}
	// More tries than one round of transcript-resend-attempts: the node
	// keeps at it while the store is out.
	before, rounds := st.refused.Load(), time.Now().Add(10*time.Second)
	for st.refused.Load()-before <= 2*int64(chatnode.DefaultSettings().ResendAttempts+1) {
		if time.Now().After(rounds) {
			t.Fatalf("the node gave up saving the chat's end after %d tries", st.refused.Load()-before)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	st.broken.Store(false)
	final := finalTranscript(t, openStore(t, path), c.id)
	var got []string
	for _, m := range final.Messages {
		got = append(got, m.Type+":"+m.Text)
	}
	if want := []string{"ParticipantJoined:", "Message:kept in memory", "ParticipantLeft:"}; !slices.Equal(got, want) {
		t.Fatalf("final transcript %v, want %v", got, want)
	}
	if r := c.do(t, newNode(t, "b", openStore(t, path)), "refresh"); r.Status != 410 {
		t.Fatalf("the ended chat on another node: %d %+v, want 410", r.Status, r)
	}
}

// TestKeptSavedOnceStoreIsBack: a live chat whose node goes on without the
// store (transcript-save-on-error=continue) has what it acknowledged saved
// once the store is available again, though nobody writes to the chat: a
// kill of the node after that loses nothing. Until then the node counts the
// chat as unsaved.
func TestKeptSavedOnceStoreIsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	st := &health{Store: &flaky{Store: openStore(t, path)}}
	st.available.Store(true)
	down := st.Store.(*flaky)
	n := newNode(t, "a", st, func(c *chatnode.Config) { c.Settings.SaveOnError = chatnode.OnErrorContinue })
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	st.available.Store(false)
	down.broken.Store(true)
	c.send(t, n, "kept in memory")
	pollFor(t, "the chat counted unsaved", func() bool { return n.KPI().SessionsUnsaved == 1 })
	down.broken.Store(false)
	time.Sleep(300 * time.Millisecond) // sweeps while the store's check still finds it unavailable
	if got := len(storedRecords(t, path, c.id)); got != 1 {
		t.Fatalf("the node saved before its store's check found the store back: %d records stored", got)
	}
	st.available.Store(true)
	pollFor(t, "the kept message saved", func() bool { return n.KPI().SessionsUnsaved == 0 })
	got := texts(c.do(t, newNode(t, "b", openStore(t, path)), "refresh"))
	if !slices.Contains(got, "Message:kept in memory") {
		t.Fatalf("restored transcript after the store came back = %v", got)
	}
}

// slowFinish is a store whose FinishChat takes a while.
type slowFinish struct{ chat.Store }

func (s slowFinish) FinishChat(ctx context.Context, f chat.Final) (bool, error) {
	time.Sleep(300 * time.Millisecond) // a slow store, not a wait for a condition
	return s.Store.FinishChat(ctx, f)
}

// TestCloseFinishesEndedChats: a node that stops right after a chat ended
// stores the chat's final transcript before it stops, not leaving it to
// whichever node finds the chat's ending mark due.
func TestCloseFinishesEndedChats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	n := newNode(t, "a", slowFinish{openStore(t, path)})
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	if r := c.do(t, n, "disconnect"); r.Status != 200 || !r.ChatEnded {
		t.Fatalf("disconnect: %d %+v", r.Status, r)
	}
	n.Close()
	if _, err := openStore(t, path).Transcript(t.Context(), c.id); err != nil {
		t.Fatalf("the final transcript of a chat ended before the stop: %v", err)
	}
}

// TestVerifyKeepsPendingRecords: a node that goes on without its store
// (continue) and must verify its chats (it was paused, or cut off) keeps a
// chat whose only difference from the store is what it has not saved yet.
func TestVerifyKeepsPendingRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	st := &flaky{Store: openStore(t, path)}
	n := newNode(t, "a", st, func(c *chatnode.Config) { c.Settings.SaveOnError = chatnode.OnErrorContinue })
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	st.broken.Store(true)
	c.send(t, n, "kept in memory")
	n.CheckHeldChats()
	if got := texts(c.do(t, n, "refresh")); !slices.Contains(got, "Message:kept in memory") {
		t.Fatalf("the node dropped its unsaved message when it verified the chat: %v", got)
	}
	st.broken.Store(false)
	c.send(t, n, "saved with the one before")
	got := texts(c.do(t, newNode(t, "b", openStore(t, path)), "refresh"))
	if !slices.Contains(got, "Message:kept in memory") || !slices.Contains(got, "Message:saved with the one before") {
		t.Fatalf("restored transcript = %v", got)
	}
}

// TestVerifyKeepsLateSavedRecords: a node that goes on without its store
// (continue) and must verify its chats keeps a chat whose store holds more
// than the node knows it saved, when the surplus is its own records, stored
// by a save that timed out; the messages it acknowledged meanwhile stay.
func TestVerifyKeepsLateSavedRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	st := &landing{Store: openStore(t, path)}
	n := newNode(t, "a", st, func(c *chatnode.Config) {
		c.Settings.SaveOnError = chatnode.OnErrorContinue
		c.Settings.ResendAttempts = 0
		c.SweepInterval = time.Hour // the next append saves what was kept, not the sweep
	})
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	st.late.Store(true)
	c.send(t, n, "stored late")
	st.late.Store(false)
	st.down.Store(true)
	c.send(t, n, "not stored")
	st.down.Store(false)
	n.CheckHeldChats()
	if k := n.KPI(); k.SessionsCurrent != 1 {
		t.Fatalf("the node gave up a chat whose only surplus in the store is its own: %+v", k)
	}
	c.send(t, n, "store back")
	got := texts(c.do(t, newNode(t, "b", openStore(t, path)), "refresh"))
	for _, want := range []string{"Message:stored late", "Message:not stored", "Message:store back"} {
		if !slices.Contains(got, want) {
			t.Fatalf("restored transcript = %v, lacks %s", got, want)
		}
	}
}

// TestEndedChatVerifiedAfterItsFinish: a node that must verify its chats
// (its gossip health rose as a peer died) still answers a refresh of a chat
// it ended and finished, whose live rows are gone, with statusCode 0 and
// chatEnded: an ended chat whose end is stored is final.
func TestEndedChatVerifiedAfterItsFinish(t *testing.T) {
	st := tempStore(t)
	n := newNode(t, "a", st)
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	c.send(t, n, "bye")
	if r := c.do(t, n, "disconnect"); r.Status != 200 || !r.ChatEnded {
		t.Fatalf("disconnect: %d %+v", r.Status, r)
	}
	finalTranscript(t, st, c.id)
	pollFor(t, "the live rows to go", func() bool {
		_, _, err := st.Load(t.Context(), c.id)
		return errors.Is(err, chat.ErrUnknownChat)
	})
	n.CheckHeldChats()
	if r := c.do(t, n, "refresh"); r.Status != 200 || r.StatusCode != 0 || !r.ChatEnded {
		t.Fatalf("refresh of the finished chat after a verify: %d statusCode %d chatEnded %v, want 200, 0, true", r.Status, r.StatusCode, r.ChatEnded)
	}
}

// TestStaleOwnerVerifiesBeforeServing: a node told it was suspected checks
// its held chats against the store, so its refresh shows what another node
// acknowledged meanwhile.
func TestStaleOwnerVerifiesBeforeServing(t *testing.T) {
	a, b, _ := twoNodes(t)
	c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}})
	c.send(t, b, "acknowledged by b")
	if got := texts(c.do(t, a, "refresh")); slices.Contains(got, "Message:acknowledged by b") {
		t.Fatal("test setup: a already saw b's message")
	}
	a.CheckHeldChats()
	if got := texts(c.do(t, a, "refresh")); !slices.Contains(got, "Message:acknowledged by b") {
		t.Fatalf("a served a stale transcript after CheckHeldChats: %v", got)
	}
}

// TestCutOffOwnerVerifiesBeforeServing: a node whose gossip health score
// rose (its probes failed, as when it is cut off from the others) checks its
// held chats against the store, so its refresh shows what another node
// acknowledged meanwhile, though no one told it it was suspected.
func TestCutOffOwnerVerifiesBeforeServing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	var score atomic.Int64
	a := newNode(t, "a", openStore(t, path), func(c *chatnode.Config) {
		c.HealthScore = func() int { return int(score.Load()) }
	})
	b := newNode(t, "b", openStore(t, path))
	c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}})
	c.send(t, b, "acknowledged by b")
	if got := texts(c.do(t, a, "refresh")); slices.Contains(got, "Message:acknowledged by b") {
		t.Fatal("test setup: a already saw b's message")
	}
	score.Store(2)
	deadline := time.Now().Add(10 * time.Second)
	for got := texts(c.do(t, a, "refresh")); !slices.Contains(got, "Message:acknowledged by b"); got = texts(c.do(t, a, "refresh")) {
		if time.Now().After(deadline) {
			t.Fatalf("a still serves a stale transcript after its health score rose: %v", got)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// staleLoad is a store whose Load misses the newest record, as a read racing
// another node's append would.
type staleLoad struct{ chat.Store }

func (s staleLoad) Load(ctx context.Context, id string) (chat.SessionRow, []chat.Record, error) {
	row, recs, err := s.Store.Load(ctx, id)
	if len(recs) > 0 {
		recs = recs[:len(recs)-1]
	}
	return row, recs, err
}

// TestFailedRestoreKeepsCountsRight: a restore whose fencing append loses
// answers "retry" and leaves the node's live count where it was.
func TestFailedRestoreKeepsCountsRight(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	a := newNode(t, "a", openStore(t, path))
	b := newNode(t, "b", staleLoad{openStore(t, path)})
	c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}, "text": {"hi"}})
	r := c.do(t, b, "refresh")
	if r.Status != 409 || r.StatusCode != api.StatusRetry {
		t.Fatalf("restore from a stale read: %d %+v", r.Status, r)
	}
	if got := b.Sessions(); got != 0 {
		t.Fatalf("b counts %d live chats after a failed restore", got)
	}
}

// TestSaveOnErrorContinueAfterLateSave: under transcript-save-on-error=continue,
// a save that failed may have stored its records all the same. The next
// append, which sends them again with the new ones, finds their seqs taken
// by what it wrote itself: it sends the rest, and the chat goes on with every
// acknowledged message stored once, in order, instead of being given up as
// taken over (which lost the messages acknowledged and not stored).
func TestSaveOnErrorContinueAfterLateSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.db")
	st := &landing{Store: openStore(t, path)}
	n := newNode(t, "a", st, func(c *chatnode.Config) {
		c.Settings.SaveOnError = chatnode.OnErrorContinue
		c.Settings.ResendAttempts, c.Settings.ResendDelay = 1, time.Millisecond
		c.SweepInterval = time.Hour // the next append saves what was kept, not the sweep
	})
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	st.late.Store(true) // stored, answered with an error
	if r := c.do(t, n, "send", "message", "stored late"); r.Status != 200 {
		t.Fatalf("send kept in memory: %d %+v", r.Status, r)
	}
	st.late.Store(false)
	st.down.Store(true) // not stored
	if r := c.do(t, n, "send", "message", "not stored"); r.Status != 200 {
		t.Fatalf("send kept in memory: %d %+v", r.Status, r)
	}
	st.down.Store(false)
	if r := c.do(t, n, "send", "message", "store back"); r.Status != 200 {
		t.Fatalf("send once the store is back: %d %+v", r.Status, r)
	}
	var msgs []string
	for _, rec := range storedRecords(t, path, c.id) {
		e, err := chat.DecodeEntry(rec.Data)
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == chat.EventMessage {
			msgs = append(msgs, e.Text)
		}
	}
	if want := []string{"stored late", "not stored", "store back"}; !slices.Equal(msgs, want) {
		t.Fatalf("stored messages %q, want %q", msgs, want)
	}
	if k := n.KPI(); k.SessionsCurrent != 1 {
		t.Fatalf("the node gave the chat up: %+v", k)
	}
}
