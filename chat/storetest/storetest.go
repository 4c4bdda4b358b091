// Package storetest is the conformance suite every chat.Store implementation
// runs: the same tests against the embedded SQLite store and a real Cassandra.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatha/chatha/chat"
)

// TTLer is implemented by stores whose intermediate rows expire.
type TTLer interface {
	// RecordTTL returns the time left before record seq of the chat expires.
	RecordTTL(ctx context.Context, chatID string, seq uint64) (time.Duration, error)
}

// Opener returns a store for one test whose chats expire ttl after their
// last write (0: the store's default TTL); the suite closes it.
type Opener func(t *testing.T, ttl time.Duration) chat.Store

// ShortTTL is the TTL of the suite's expiry tests: short, and whole seconds,
// as Cassandra counts them.
const ShortTTL = 3 * time.Second

// Run runs the whole suite against the stores open returns. The expiry tests
// take a few times ShortTTL; they run in parallel with each other.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s chat.Store)
	}{
		{"CreateLoad", testCreateLoad},
		{"CreateTwice", testCreateTwice},
		{"ClaimOnce", testClaimOnce},
		{"ClaimConcurrently", testClaimConcurrently},
		{"AppendInOrder", testAppendInOrder},
		{"ConflictOnTakenSeq", testConflict},
		{"AllOrNothing", testAllOrNothing},
		{"ConcurrentAppendOneWinner", testConcurrentAppend},
		{"LoadUnknown", testLoadUnknown},
		{"TranscriptAndDelete", testTranscriptAndDelete},
		{"TTLOnIntermediateRows", testTTL},
		{"Files", testFiles},
		{"FilesGoWithTheChat", testFilesGoWithTheChat},
		{"OutboxOnlyWhenAsked", testOutboxOnlyWhenAsked},
		{"OutboxClaimOnce", testOutboxClaimOnce},
		{"OutboxLeaseExpiry", testOutboxLeaseExpiry},
		{"OutboxDeleteAfterDelivery", testOutboxDeleteAfterDelivery},
		{"UserDataIndex", testUserDataIndex},
		{"EraseEndedChat", testEraseEnded},
		{"EraseLiveChat", testEraseLive},
		{"EraseUnknownChat", testEraseUnknown},
		{"FinishChat", testFinishChat},
		{"FinishChatConcurrently", testFinishConcurrently},
		{"FinishChatKeepsSavedTranscript", testFinishKeepsTranscript},
		{"FinishChatAfterErase", testFinishErased},
		{"FinishUnknownChat", testFinishUnknown},
		{"EndingMarks", testEndingMarks},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, 0)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
	t.Run("Expiry", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			fn   func(t *testing.T, s chat.Store)
		}{
			{"ChatInUseNeverExpires", testInUseNeverExpires},
			{"IdleChatExpiresFromLastWrite", testIdleExpires},
			{"TranscriptOutlivesTTL", testTranscriptOutlivesTTL},
			{"TranscriptRetention", testTranscriptRetention},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := open(t, ShortTTL)
				t.Cleanup(func() { s.Close() })
				tc.fn(t, s)
			})
		}
	})
}

// ChatID returns a fresh random chat id.
func ChatID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func recs(from, to uint64, reqPrefix string) []chat.Record {
	var out []chat.Record
	for i := from; i <= to; i++ {
		out = append(out, chat.Record{Seq: i, RequestID: fmt.Sprintf("%s%d", reqPrefix, i), Data: []byte(fmt.Sprintf("event %d %s", i, reqPrefix))})
	}
	return out
}

func create(t *testing.T, s chat.Store, first uint64) string {
	t.Helper()
	id := ChatID(t)
	row := chat.SessionRow{ChatID: id, Service: "svc", CreatedAt: time.Now().UTC().Truncate(time.Millisecond), Data: []byte(`{"creator":1}`)}
	if err := s.Create(ctx(t), row, recs(1, first, "c")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	return id
}

func mustLoad(t *testing.T, s chat.Store, id string) (chat.SessionRow, []chat.Record) {
	t.Helper()
	row, rs, err := s.Load(ctx(t), id)
	if err != nil {
		t.Fatalf("Load(%s): %v", id, err)
	}
	return row, rs
}

func checkDense(t *testing.T, rs []chat.Record, n uint64) {
	t.Helper()
	if uint64(len(rs)) != n {
		t.Fatalf("loaded %d records, want %d", len(rs), n)
	}
	for i, r := range rs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
	}
}

func testCreateLoad(t *testing.T, s chat.Store) {
	id := create(t, s, 2)
	row, rs := mustLoad(t, s, id)
	if row.ChatID != id || row.Service != "svc" || !bytes.Equal(row.Data, []byte(`{"creator":1}`)) || row.CreatedAt.IsZero() {
		t.Fatalf("row = %+v", row)
	}
	checkDense(t, rs, 2)
	if rs[1].RequestID != "c2" || string(rs[1].Data) != "event 2 c" {
		t.Fatalf("record 2 = %+v", rs[1])
	}
}

func testCreateTwice(t *testing.T, s chat.Store) {
	id := create(t, s, 1)
	row := chat.SessionRow{ChatID: id, Service: "other", CreatedAt: time.Now(), Data: []byte("x")}
	err := s.Create(ctx(t), row, recs(1, 1, "again"))
	if !errors.Is(err, chat.ErrChatExists) {
		t.Fatalf("second Create err = %v, want ErrChatExists", err)
	}
	got, rs := mustLoad(t, s, id)
	if got.Service != "svc" || rs[0].RequestID != "c1" {
		t.Fatalf("second Create changed the chat: %+v %+v", got, rs[0])
	}
}

func testClaimOnce(t *testing.T, s chat.Store) {
	req, a, b := ChatID(t), ChatID(t), ChatID(t)
	for i, tc := range []struct{ req, chat, want string }{
		{req, a, a}, // the first claim wins
		{req, b, a}, // a later one finds it
		{req, a, a}, // the winner's retry finds itself
		{"other-" + req, b, b},
	} {
		got, err := s.Claim(ctx(t), tc.req, tc.chat)
		if err != nil || got != tc.want {
			t.Fatalf("claim %d: Claim(%s, %s) = %q, %v; want %q", i, tc.req, tc.chat, got, err, tc.want)
		}
	}
}

// ClaimConcurrently has many writers claim one request id at once: all of
// them find the same chat.
func testClaimConcurrently(t *testing.T, s chat.Store) {
	req := ChatID(t)
	got := make([]string, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := s.Claim(context.Background(), req, fmt.Sprintf("chat-%d", i))
			if err != nil {
				t.Errorf("claim %d: %v", i, err)
			}
			got[i] = id
		}()
	}
	wg.Wait()
	for _, id := range got {
		if id != got[0] || id == "" {
			t.Fatalf("concurrent claims found different chats: %v", got)
		}
	}
}

func testAppendInOrder(t *testing.T, s chat.Store) {
	id := create(t, s, 1)
	for i := uint64(2); i <= 20; i++ {
		if err := s.Append(ctx(t), id, recs(i, i, "a")); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
	if err := s.Append(ctx(t), id, recs(21, 23, "b")); err != nil {
		t.Fatalf("Append 21-23: %v", err)
	}
	_, rs := mustLoad(t, s, id)
	checkDense(t, rs, 23)
	if string(rs[21].Data) != "event 22 b" {
		t.Fatalf("record 22 = %q", rs[21].Data)
	}
}

func testConflict(t *testing.T, s chat.Store) {
	id := create(t, s, 3)
	err := s.Append(ctx(t), id, recs(3, 3, "stale"))
	if !errors.Is(err, chat.ErrSeqTaken) {
		t.Fatalf("Append on a taken seq: err = %v, want ErrSeqTaken", err)
	}
	_, rs := mustLoad(t, s, id)
	checkDense(t, rs, 3)
	if rs[2].RequestID != "c3" {
		t.Fatalf("taken record was overwritten: %+v", rs[2])
	}
}

func testAllOrNothing(t *testing.T, s chat.Store) {
	id := create(t, s, 2)
	// Seq 2 is taken, 3 and 4 are free: nothing may be stored.
	err := s.Append(ctx(t), id, recs(2, 4, "x"))
	if !errors.Is(err, chat.ErrSeqTaken) {
		t.Fatalf("err = %v, want ErrSeqTaken", err)
	}
	_, rs := mustLoad(t, s, id)
	checkDense(t, rs, 2)
	if err := s.Append(ctx(t), id, recs(3, 4, "y")); err != nil {
		t.Fatalf("Append after a refused batch: %v", err)
	}
}

// testConcurrentAppend has two writers race for every seq of one chat, as a
// stale owner and a new owner would: each seq goes to exactly one of them.
func testConcurrentAppend(t *testing.T, s chat.Store) {
	id := create(t, s, 1)
	const n = 30
	won := [2][]uint64{}
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := uint64(2); i <= n; i++ {
				err := s.Append(context.Background(), id, recs(i, i, fmt.Sprintf("w%d-", w)))
				switch {
				case err == nil:
					won[w] = append(won[w], i)
				case !errors.Is(err, chat.ErrSeqTaken):
					t.Errorf("writer %d seq %d: %v", w, i, err)
				}
			}
		}(w)
	}
	wg.Wait()
	_, rs := mustLoad(t, s, id)
	checkDense(t, rs, n)
	owner := map[uint64]int{}
	for w, seqs := range won {
		for _, q := range seqs {
			if prev, dup := owner[q]; dup {
				t.Fatalf("seq %d won by writers %d and %d", q, prev, w)
			}
			owner[q] = w
		}
	}
	for _, r := range rs[1:] {
		w, ok := owner[r.Seq]
		if !ok || r.RequestID != fmt.Sprintf("w%d-%d", w, r.Seq) {
			t.Fatalf("record %d (%s) is not what its winner %d wrote", r.Seq, r.RequestID, w)
		}
	}
}

func testLoadUnknown(t *testing.T, s chat.Store) {
	_, _, err := s.Load(ctx(t), ChatID(t))
	if !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Load of an unknown chat: err = %v, want ErrUnknownChat", err)
	}
	if _, err := s.Transcript(ctx(t), ChatID(t)); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Transcript of an unknown chat: err = %v, want ErrUnknownChat", err)
	}
}

func testTranscriptAndDelete(t *testing.T, s chat.Store) {
	id := create(t, s, 5)
	final := []byte(`{"messages":[1,2,3,4,5]}`)
	if err := s.SaveTranscript(ctx(t), chat.Final{ChatID: id, Data: final}); err != nil {
		t.Fatalf("SaveTranscript: %v", err)
	}
	if err := s.Delete(ctx(t), id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := s.Load(ctx(t), id); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Load after Delete: err = %v, want ErrUnknownChat", err)
	}
	// A stale owner that still holds the chat appends at a seq it had.
	err := s.Append(ctx(t), id, recs(5, 6, "stale"))
	if !errors.Is(err, chat.ErrSeqTaken) && !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Append to a deleted chat: err = %v, want ErrSeqTaken or ErrUnknownChat", err)
	}
	got, err := s.Transcript(ctx(t), id)
	if err != nil || !bytes.Equal(got, final) {
		t.Fatalf("Transcript = %q, %v; want %q", got, err, final)
	}
}

func testTTL(t *testing.T, s chat.Store) {
	ttler, ok := s.(TTLer)
	if !ok {
		t.Fatalf("%T does not report TTLs of intermediate rows", s)
	}
	id := create(t, s, 2)
	left, err := ttler.RecordTTL(ctx(t), id, 2)
	if err != nil {
		t.Fatalf("RecordTTL: %v", err)
	}
	if left <= 0 || left > 400*24*time.Hour {
		t.Fatalf("record TTL = %v, want a positive expiry", left)
	}
}

// testTranscriptOutlivesTTL: the final transcript of an ended chat, finished
// or saved and its live rows deleted, stays long after the TTL; so does one
// saved for a chat whose rows expire.
func testTranscriptOutlivesTTL(t *testing.T, s chat.Store) {
	finished, ended, idle := create(t, s, 3), create(t, s, 3), create(t, s, 1)
	final := []byte(`{"messages":["kept"]}`)
	for _, id := range []string{ended, idle} {
		if err := s.SaveTranscript(ctx(t), chat.Final{ChatID: id, Data: final}); err != nil {
			t.Fatalf("SaveTranscript: %v", err)
		}
	}
	if err := s.Delete(ctx(t), ended); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if !finish(t, s, chat.Final{ChatID: finished, Data: final}) {
		t.Fatal("FinishChat stored no transcript")
	}
	sleep(t, ShortTTL*3/2+2*time.Second)
	for _, id := range []string{finished, ended, idle} {
		if got, err := s.Transcript(ctx(t), id); err != nil || !bytes.Equal(got, final) {
			t.Fatalf("Transcript after the TTL = %q, %v; want %q", got, err, final)
		}
	}
	if _, _, err := s.Load(ctx(t), idle); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Load of a chat idle past its TTL: %v, want ErrUnknownChat", err)
	}
}
