package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatha/chatha/chat"
)

// marked returns the ending mark of chatID if it is due at now.
func marked(t *testing.T, s chat.Store, now time.Time, chatID string) (chat.Ending, bool) {
	t.Helper()
	es, err := s.DueEndings(ctx(t), now, 10000)
	if err != nil {
		t.Fatalf("DueEndings: %v", err)
	}
	for _, e := range es {
		if e.ChatID == chatID {
			return e, true
		}
	}
	return chat.Ending{}, false
}

func mark(t *testing.T, s chat.Store, id string, due time.Time) {
	t.Helper()
	if err := s.MarkEnding(ctx(t), id, due); err != nil {
		t.Fatalf("MarkEnding: %v", err)
	}
}

func finish(t *testing.T, s chat.Store, f chat.Final) bool {
	t.Helper()
	saved, err := s.FinishChat(ctx(t), f)
	if err != nil {
		t.Fatalf("FinishChat: %v", err)
	}
	return saved
}

// finalOf returns a final transcript of chat id that names what.
func finalOf(id, what string, deliver bool) chat.Final {
	return chat.Final{ChatID: id, Data: []byte(fmt.Sprintf(`{"chatId":%q,"by":%q}`, id, what)), Deliver: deliver}
}

// checkFinished checks that the chat's live rows and mark are gone and its
// transcript is want.
func checkFinished(t *testing.T, s chat.Store, id string, want []byte) {
	t.Helper()
	if got, err := s.Transcript(ctx(t), id); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Transcript = %q, %v; want %q", got, err, want)
	}
	if _, _, err := s.Load(ctx(t), id); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Load of a finished chat: %v, want ErrUnknownChat", err)
	}
	if _, ok := marked(t, s, farFuture, id); ok {
		t.Fatal("a finished chat is still marked as ending")
	}
}

// testFinishChat: a marked chat is finished whole: its transcript, its
// outbox entry, its index entries kept with the transcript; its live rows,
// files and mark gone; a stale owner cannot append. Finishing it again, or
// after its delivery, stores and queues nothing.
func testFinishChat(t *testing.T, s chat.Store) {
	id, _, value := full(t, s)
	first := finalOf(id, "first", true)
	if !finish(t, s, first) {
		t.Fatal("FinishChat of an ended chat stored no transcript")
	}
	checkFinished(t, s, id, first.Data)
	if _, err := s.ReadFile(ctx(t), id, "f"); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("ReadFile of a finished chat: %v, want ErrUnknownChat", err)
	}
	err := s.Append(ctx(t), id, recs(5, 6, "stale"))
	if !errors.Is(err, chat.ErrSeqTaken) && !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Append to a finished chat: %v, want ErrSeqTaken or ErrUnknownChat", err)
	}
	if got := chatsBy(t, s, "customerId", value, 10); len(got) != 1 || got[0] != id {
		t.Fatalf("the index after FinishChat finds %v", got)
	}
	d, ok := due(t, s, time.Now(), id)
	if !ok {
		t.Fatal("a chat finished for delivery is not due in the outbox")
	}
	if finish(t, s, finalOf(id, "again", true)) {
		t.Fatal("FinishChat of a finished chat stored again")
	}
	checkFinished(t, s, id, first.Data)
	l, err := s.LeaseDelivery(ctx(t), d, "a", time.Now().Add(time.Minute))
	if err != nil || !bytes.Equal(l.Data, first.Data) {
		t.Fatalf("lease of the finished chat's entry: %q, %v", l.Data, err)
	}
	if err := s.CompleteDelivery(ctx(t), id, "a"); err != nil {
		t.Fatalf("CompleteDelivery: %v", err)
	}
	if finish(t, s, finalOf(id, "after delivery", true)) {
		t.Fatal("FinishChat after the delivery stored again")
	}
	if _, ok := due(t, s, farFuture, id); ok {
		t.Fatal("FinishChat after the delivery queued the transcript again")
	}
}

// testFinishConcurrently: nodes finishing one chat at once store one
// transcript, that of the one FinishChat that reports it, and queue one
// outbox entry.
func testFinishConcurrently(t *testing.T, s chat.Store) {
	id := create(t, s, 3)
	mark(t, s, id, time.Now())
	var mu sync.Mutex // guards winners
	var winners []chat.Final
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			f := finalOf(id, fmt.Sprintf("node-%d", i), true)
			saved, err := s.FinishChat(ctx(t), f)
			switch {
			case err != nil:
				t.Errorf("FinishChat %d: %v", i, err)
			case saved:
				mu.Lock()
				winners = append(winners, f)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d finishers stored a transcript, want 1", len(winners))
	}
	checkFinished(t, s, id, winners[0].Data)
	ds, err := s.DueDeliveries(ctx(t), farFuture, 10000)
	if err != nil {
		t.Fatalf("DueDeliveries: %v", err)
	}
	entries := 0
	for _, d := range ds {
		if d.ChatID == id {
			entries++
		}
	}
	if entries != 1 {
		t.Fatalf("%d outbox entries of the chat, want 1", entries)
	}
}

// testFinishKeepsTranscript: a chat whose transcript was saved before (its
// node stopped before it deleted the live rows) keeps it: FinishChat stores
// and queues nothing, and removes the live rows and the mark.
func testFinishKeepsTranscript(t *testing.T, s chat.Store) {
	id := create(t, s, 2)
	mark(t, s, id, time.Now())
	saved := finalOf(id, "saved", false)
	if err := s.SaveTranscript(ctx(t), saved); err != nil {
		t.Fatalf("SaveTranscript: %v", err)
	}
	if finish(t, s, finalOf(id, "late", true)) {
		t.Fatal("FinishChat overwrote a saved transcript")
	}
	checkFinished(t, s, id, saved.Data)
	if _, ok := due(t, s, farFuture, id); ok {
		t.Fatal("FinishChat queued a transcript it did not store")
	}
}

// testFinishErased: a chat erased before a late finisher's FinishChat stays
// erased: nothing stored, no row anywhere.
func testFinishErased(t *testing.T, s chat.Store) {
	id, req, value := full(t, s)
	if _, err := s.Erase(ctx(t), id); err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if finish(t, s, finalOf(id, "late", true)) {
		t.Fatal("FinishChat stored the transcript of an erased chat")
	}
	checkErased(t, s, id, req, value)
}

// testFinishUnknown: a chat never stored, or expired, is not finished.
func testFinishUnknown(t *testing.T, s chat.Store) {
	id := ChatID(t)
	mark(t, s, id, time.Now())
	if finish(t, s, finalOf(id, "nobody", true)) {
		t.Fatal("FinishChat stored the transcript of an unknown chat")
	}
	if _, err := s.Transcript(ctx(t), id); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Transcript of an unknown chat: %v", err)
	}
	if _, ok := due(t, s, farFuture, id); ok {
		t.Fatal("FinishChat queued the transcript of an unknown chat")
	}
	if _, ok := marked(t, s, farFuture, id); ok {
		t.Fatal("FinishChat left the mark of an unknown chat")
	}
}

// testEndingMarks: a mark is due from its due time; of nodes taking it at
// once one wins, and it is due again when its taker's lease ends; it is
// gone once cleared.
func testEndingMarks(t *testing.T, s chat.Store) {
	id, now := ChatID(t), time.Now()
	mark(t, s, id, now.Add(time.Hour))
	if _, ok := marked(t, s, now, id); ok {
		t.Fatal("a mark is due before its time")
	}
	mark(t, s, id, now.Add(time.Minute)) // again: the new due time
	e, ok := marked(t, s, now.Add(2*time.Minute), id)
	if !ok || e.Attempts != 0 {
		t.Fatalf("mark after its time: %+v, %v; want due, no attempt", e, ok)
	}
	until := now.Add(time.Hour)
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			got, err := s.TakeEnding(ctx(t), e, until)
			switch {
			case err == nil:
				won.Add(1)
				if got.Attempts != 1 || !got.Due.Equal(until.Truncate(time.Millisecond)) {
					t.Errorf("taken mark = %+v, want one attempt, due at %v", got, until)
				}
			case !errors.Is(err, chat.ErrLeaseLost):
				t.Errorf("take %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d nodes took one mark, want 1", won.Load())
	}
	if _, ok := marked(t, s, now.Add(30*time.Minute), id); ok {
		t.Fatal("a taken mark is due before its taker's time runs out")
	}
	again, ok := marked(t, s, until.Add(time.Second), id)
	if !ok || again.Attempts != 1 {
		t.Fatalf("after the taker's time: %+v, %v; want due, one attempt", again, ok)
	}
	if err := s.ClearEnding(ctx(t), id); err != nil {
		t.Fatalf("ClearEnding: %v", err)
	}
	if _, ok := marked(t, s, farFuture, id); ok {
		t.Fatal("a cleared mark is due")
	}
	if _, err := s.TakeEnding(ctx(t), again, farFuture); !errors.Is(err, chat.ErrLeaseLost) {
		t.Fatalf("take of a cleared mark: %v, want ErrLeaseLost", err)
	}
	if err := s.ClearEnding(ctx(t), id); err != nil {
		t.Fatalf("ClearEnding again: %v", err)
	}
}
