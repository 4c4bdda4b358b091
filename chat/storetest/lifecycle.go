package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatha/chatha/chat"
)

// TableReader is implemented by the stores' own tests, not by the stores: it
// reads every table of the store directly, not through the store's methods,
// so the suite can check that an erased chat left no row anywhere.
type TableReader interface {
	// RowsOf returns, by table, how many rows mention chatID in any column.
	RowsOf(t *testing.T, chatID string) map[string]int
}

// Mentions reports whether v, a column's value as a database driver returns
// it, holds needle: for the stores' TableReader.
func Mentions(v any, needle string) bool {
	switch v := v.(type) {
	case string:
		return strings.Contains(v, needle)
	case []byte:
		return bytes.Contains(v, []byte(needle))
	}
	return false
}

// farFuture is a time at which every outbox entry is due.
var farFuture = time.Now().Add(100 * 365 * 24 * time.Hour)

// due returns the outbox entry of chatID if it is due at now.
func due(t *testing.T, s chat.Store, now time.Time, chatID string) (chat.Delivery, bool) {
	t.Helper()
	ds, err := s.DueDeliveries(ctx(t), now, 10000)
	if err != nil {
		t.Fatalf("DueDeliveries: %v", err)
	}
	for _, d := range ds {
		if d.Data != nil {
			t.Fatalf("DueDeliveries returned the data of %s", d.ChatID)
		}
		if d.ChatID == chatID {
			return d, true
		}
	}
	return chat.Delivery{}, false
}

// queued saves a final transcript for delivery and returns its entry.
func queued(t *testing.T, s chat.Store) (string, []byte, chat.Delivery) {
	t.Helper()
	id := ChatID(t)
	data := []byte(fmt.Sprintf(`{"chatId":%q,"messages":[]}`, id))
	if err := s.SaveTranscript(ctx(t), chat.Final{ChatID: id, Data: data, Deliver: true}); err != nil {
		t.Fatalf("SaveTranscript: %v", err)
	}
	d, ok := due(t, s, time.Now(), id)
	if !ok {
		t.Fatalf("a transcript saved for delivery is not due in the outbox")
	}
	if d.Attempts != 0 || d.Lease != "" {
		t.Fatalf("new outbox entry = %+v, want no attempt and no lease", d)
	}
	return id, data, d
}

func testOutboxOnlyWhenAsked(t *testing.T, s chat.Store) {
	id := ChatID(t)
	if err := s.SaveTranscript(ctx(t), chat.Final{ChatID: id, Data: []byte("{}")}); err != nil {
		t.Fatalf("SaveTranscript: %v", err)
	}
	if _, ok := due(t, s, farFuture, id); ok {
		t.Fatal("a transcript saved without Deliver is in the outbox")
	}
}

// testOutboxClaimOnce: deliverers that lease one entry at once: exactly one
// gets it, with its data.
func testOutboxClaimOnce(t *testing.T, s chat.Store) {
	id, data, d := queued(t, s)
	until := time.Now().Add(time.Minute)
	var won atomic.Int32
	var got chat.Delivery
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l, err := s.LeaseDelivery(ctx(t), d, fmt.Sprintf("deliverer-%d", i), until)
			switch {
			case err == nil:
				won.Add(1)
				got = l
			case !errors.Is(err, chat.ErrLeaseLost):
				t.Errorf("lease %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d deliverers leased one entry, want 1", won.Load())
	}
	if got.ChatID != id || !bytes.Equal(got.Data, data) || got.Attempts != 1 || got.Lease == "" {
		t.Fatalf("leased entry = %+v, want its data and one attempt", got)
	}
	if _, ok := due(t, s, time.Now(), id); ok {
		t.Fatal("a leased entry is due before its lease ends")
	}
	if l, ok := due(t, s, until.Add(time.Second), id); !ok || l.Lease != got.Lease {
		t.Fatalf("after the lease: due %v, lease %q; want due, leased by %q", ok, l.Lease, got.Lease)
	}
}

// testOutboxLeaseExpiry: an entry whose lease ran out (its deliverer died)
// is due again and another deliverer takes it; the first one can then
// neither complete nor reschedule it.
func testOutboxLeaseExpiry(t *testing.T, s chat.Store) {
	id, _, d := queued(t, s)
	now := time.Now()
	if _, err := s.LeaseDelivery(ctx(t), d, "a", now.Add(2*time.Second)); err != nil {
		t.Fatalf("lease a: %v", err)
	}
	if _, ok := due(t, s, now.Add(time.Second), id); ok {
		t.Fatal("due during its lease")
	}
	d2, ok := due(t, s, now.Add(3*time.Second), id)
	if !ok {
		t.Fatal("not due after its lease ran out")
	}
	b, err := s.LeaseDelivery(ctx(t), d2, "b", now.Add(time.Minute))
	if err != nil || b.Attempts != 2 {
		t.Fatalf("lease b after a's ran out: %+v, %v; want attempt 2", b, err)
	}
	if _, err := s.LeaseDelivery(ctx(t), d2, "c", now.Add(time.Minute)); !errors.Is(err, chat.ErrLeaseLost) {
		t.Fatalf("lease with a stale read: %v, want ErrLeaseLost", err)
	}
	if err := s.CompleteDelivery(ctx(t), id, "a"); !errors.Is(err, chat.ErrLeaseLost) {
		t.Fatalf("complete by the lost lease: %v, want ErrLeaseLost", err)
	}
	if err := s.RetryDelivery(ctx(t), id, "a", now); !errors.Is(err, chat.ErrLeaseLost) {
		t.Fatalf("retry by the lost lease: %v, want ErrLeaseLost", err)
	}
	if err := s.RetryDelivery(ctx(t), id, "b", now.Add(time.Hour)); err != nil {
		t.Fatalf("retry by b: %v", err)
	}
	if _, ok := due(t, s, now.Add(30*time.Minute), id); ok {
		t.Fatal("due before its back-off ends")
	}
	d3, ok := due(t, s, now.Add(time.Hour+time.Second), id)
	if !ok || d3.Lease != "" || d3.Attempts != 2 {
		t.Fatalf("after the back-off: %+v, %v; want due, no lease, 2 attempts", d3, ok)
	}
}

// testOutboxDeleteAfterDelivery: a completed entry is gone for good; the
// transcript stays.
func testOutboxDeleteAfterDelivery(t *testing.T, s chat.Store) {
	id, data, d := queued(t, s)
	if _, err := s.LeaseDelivery(ctx(t), d, "a", time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("lease: %v", err)
	}
	if err := s.CompleteDelivery(ctx(t), id, "a"); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if _, ok := due(t, s, farFuture, id); ok {
		t.Fatal("a delivered entry is still in the outbox")
	}
	if _, err := s.LeaseDelivery(ctx(t), d, "b", time.Now().Add(time.Minute)); !errors.Is(err, chat.ErrLeaseLost) {
		t.Fatalf("lease of a delivered entry: %v, want ErrLeaseLost", err)
	}
	if err := s.CompleteDelivery(ctx(t), id, "a"); !errors.Is(err, chat.ErrLeaseLost) {
		t.Fatalf("second complete: %v, want ErrLeaseLost", err)
	}
	if got, err := s.Transcript(ctx(t), id); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("transcript after delivery: %q, %v", got, err)
	}
}

func chatsBy(t *testing.T, s chat.Store, key, value string, limit int) []string {
	t.Helper()
	ids, err := s.ChatsByUserData(ctx(t), key, value, limit)
	if err != nil {
		t.Fatalf("ChatsByUserData(%s): %v", key, err)
	}
	slices.Sort(ids)
	return ids
}

func index(t *testing.T, s chat.Store, id string, pairs map[string]string) {
	t.Helper()
	if err := s.IndexUserData(ctx(t), id, pairs); err != nil {
		t.Fatalf("IndexUserData: %v", err)
	}
}

func testUserDataIndex(t *testing.T, s chat.Store) {
	v := "C42-" + ChatID(t) // the suite's stores may share their tables
	a, b, c := ChatID(t), ChatID(t), ChatID(t)
	index(t, s, a, map[string]string{"customerId": v})
	index(t, s, b, map[string]string{"customerId": v, "order": "7-" + v})
	index(t, s, c, map[string]string{"customerId": v + "3"})
	index(t, s, a, map[string]string{"customerId": v}) // again: one entry
	want := []string{a, b}
	slices.Sort(want)
	if got := chatsBy(t, s, "customerId", v, 10); !slices.Equal(got, want) {
		t.Fatalf("chats with customerId=%s: %v, want %v", v, got, want)
	}
	if got := chatsBy(t, s, "customerId", v, 1); len(got) != 1 {
		t.Fatalf("limit 1 returned %v", got)
	}
	if got := chatsBy(t, s, "order", "7-"+v, 10); !slices.Equal(got, []string{b}) {
		t.Fatalf("chats with order: %v, want [%s]", got, b)
	}
	if got := chatsBy(t, s, "customerId", "nobody-"+v, 10); len(got) != 0 {
		t.Fatalf("chats of nobody: %v", got)
	}
}

// full stores a chat with everything a chat can have in a store: records
// whose create request id is claimed, a userData index entry, a file and an
// ending mark.
// It returns the chat id, the claimed request id and the indexed value.
func full(t *testing.T, s chat.Store) (id, req, value string) {
	t.Helper()
	id, prefix := ChatID(t), "req-"+ChatID(t)+"-"
	req, value = prefix+"1", "C-"+id
	if owner, err := s.Claim(ctx(t), req, id); err != nil || owner != id {
		t.Fatalf("Claim: %q, %v", owner, err)
	}
	index(t, s, id, map[string]string{"customerId": value})
	row := chat.SessionRow{ChatID: id, Service: "svc", CreatedAt: time.Now().UTC().Truncate(time.Millisecond), Data: []byte(`{"creator":1}`)}
	if err := s.Create(ctx(t), row, recs(1, 3, prefix)); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Append(ctx(t), id, recs(4, 5, "more")); err != nil {
		t.Fatalf("Append: %v", err)
	}
	putFile(t, s, id, "f", content(t, 300<<10))
	mark(t, s, id, farFuture)
	return id, req, value
}

// checkErased checks that nothing of the chat can be read, appended or
// found, and that no table holds a row of it.
func checkErased(t *testing.T, s chat.Store, id, req, value string) {
	t.Helper()
	if _, _, err := s.Load(ctx(t), id); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Load after Erase: %v, want ErrUnknownChat", err)
	}
	if _, err := s.Transcript(ctx(t), id); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Transcript after Erase: %v, want ErrUnknownChat", err)
	}
	if _, err := s.ReadFile(ctx(t), id, "f"); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("ReadFile after Erase: %v, want ErrUnknownChat", err)
	}
	if _, ok := due(t, s, farFuture, id); ok {
		t.Fatal("the outbox entry survived Erase")
	}
	if _, ok := marked(t, s, farFuture.Add(time.Hour), id); ok {
		t.Fatal("the ending mark survived Erase")
	}
	if got := chatsBy(t, s, "customerId", value, 10); len(got) != 0 {
		t.Fatalf("the index still finds %v", got)
	}
	err := s.Append(ctx(t), id, recs(6, 6, "stale"))
	if !errors.Is(err, chat.ErrUnknownChat) && !errors.Is(err, chat.ErrSeqTaken) {
		t.Fatalf("Append to an erased chat: %v, want ErrUnknownChat", err)
	}
	tr, ok := s.(TableReader)
	if !ok {
		t.Fatalf("%T does not read its tables for the suite", s)
	}
	for table, n := range tr.RowsOf(t, id) {
		if n > 0 {
			t.Errorf("table %s holds %d rows of the erased chat", table, n)
		}
	}
	if owner, err := s.Claim(ctx(t), req, "other-"+id); err != nil || owner != "other-"+id {
		t.Fatalf("the claim of the erased chat's create survived: Claim = %q, %v", owner, err)
	}
	if again, err := s.Erase(ctx(t), id); err != nil || again.Any() {
		t.Fatalf("Erase again: %+v, %v; want nothing", again, err)
	}
}

// testEraseEnded erases a chat that ended as a node ends it: final
// transcript saved for delivery, live rows deleted.
func testEraseEnded(t *testing.T, s chat.Store) {
	id, req, value := full(t, s)
	if err := s.SaveTranscript(ctx(t), chat.Final{ChatID: id, Data: []byte(`{"chatId":"` + id + `"}`), Deliver: true}); err != nil {
		t.Fatalf("SaveTranscript: %v", err)
	}
	if err := s.Delete(ctx(t), id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	e, err := s.Erase(ctx(t), id)
	if err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if !e.Transcript || !e.Outbox || e.Claims != 1 || e.Index != 1 || e.Session {
		t.Fatalf("Erase of an ended chat = %+v, want its transcript, outbox entry, claim and index entry", e)
	}
	checkErased(t, s, id, req, value)
}

// testEraseLive erases a chat in the middle of its life.
func testEraseLive(t *testing.T, s chat.Store) {
	id, req, value := full(t, s)
	e, err := s.Erase(ctx(t), id)
	if err != nil {
		t.Fatalf("Erase: %v", err)
	}
	want := chat.Erased{Session: true, Records: 5, Files: 1, Claims: 1, Index: 1}
	if e != want {
		t.Fatalf("Erase of a live chat = %+v, want %+v", e, want)
	}
	checkErased(t, s, id, req, value)
}

func testEraseUnknown(t *testing.T, s chat.Store) {
	if e, err := s.Erase(ctx(t), ChatID(t)); err != nil || e.Any() {
		t.Fatalf("Erase of an unknown chat: %+v, %v", e, err)
	}
}

// testTranscriptRetention: a transcript saved with a retention is there
// until it runs out and gone soon after, its index entries with it; one
// saved with no retention, or a longer one, stays.
func testTranscriptRetention(t *testing.T, s chat.Store) {
	short, long, forever := ChatID(t), ChatID(t), ChatID(t)
	value := "C-" + short
	index(t, s, short, map[string]string{"customerId": value})
	start := time.Now()
	// long's retention is longer than the test can last, however slow the
	// machine: it must be there at the end.
	for id, keep := range map[string]time.Duration{short: ShortTTL, long: 20 * ShortTTL, forever: 0} {
		if err := s.SaveTranscript(ctx(t), chat.Final{ChatID: id, Data: []byte(id), Retention: keep}); err != nil {
			t.Fatalf("SaveTranscript: %v", err)
		}
	}
	saved := time.Now()
	// Gone once its retention ran out: at once in SQLite, within a second
	// (Cassandra's TTL granularity) in Cassandra; never before. Each check
	// counts from the call's start or end, whichever is fair to the store.
	for {
		var err error
		call := timed(func() { _, err = s.Transcript(ctx(t), short) })
		if errors.Is(err, chat.ErrUnknownChat) {
			if kept := call.to.Sub(start); kept < ShortTTL-granularity {
				t.Fatalf("the transcript went %v after it was saved, before its retention of %v", kept, ShortTTL)
			}
			break
		}
		if err != nil {
			t.Fatalf("Transcript: %v", err)
		}
		if call.from.Sub(saved) > ShortTTL+2*time.Second {
			t.Fatalf("the transcript is still there %v after it was saved with a retention of %v", call.from.Sub(saved), ShortTTL)
		}
		sleep(t, 100*time.Millisecond)
	}
	for _, id := range []string{long, forever} {
		if got, err := s.Transcript(ctx(t), id); err != nil || string(got) != id {
			t.Fatalf("a transcript with a longer retention, or none: %q, %v", got, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		from := time.Now()
		if len(chatsBy(t, s, "customerId", value, 10)) == 0 {
			break
		}
		if from.After(deadline) {
			t.Fatal("the index entry of a chat whose transcript expired is still there")
		}
		sleep(t, 100*time.Millisecond)
	}
}
