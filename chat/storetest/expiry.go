package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chatha/chatha/chat"
)

// The expiry tests are about the passing of time, on machines that may be
// busy: a store call can take seconds, and a sleep can last longer than
// asked. So each check is made against when the calls around it ran (a
// store did its work at some moment between a call's start and its
// return), and a scenario whose steps the machine could not run close
// enough together to decide anything is run again, with a new chat: only
// what the store did fails a test, never the scheduler.

// granularity is how much sooner than its TTL a store may expire a row:
// Cassandra counts expiry in whole seconds from the second of the write.
const granularity = time.Second

// scenarioTries bounds how often a scenario is run again because the
// machine was too slow to time it.
const scenarioTries = 5

// span is when a store call ran.
type span struct{ from, to time.Time }

// timed runs fn and returns when it ran.
func timed(fn func()) span {
	from := time.Now()
	fn()
	return span{from, time.Now()}
}

// untimed is why a scenario could not decide anything: its steps ran too
// far apart.
type untimed string

// retryScenario runs scenario until it decides (returns ""), at most
// scenarioTries times; each other run says why it could not.
func retryScenario(t *testing.T, scenario func() untimed) {
	t.Helper()
	for try := 1; ; try++ {
		why := scenario()
		if why == "" {
			return
		}
		if try == scenarioTries {
			t.Fatalf("the machine never ran the steps in time (%d tries); the last time: %s", try, why)
		}
		t.Logf("try %d could not be timed, running it again with a new chat: %s", try, why)
	}
}

// sleepUntil lets time pass until at (at once if it passed).
func sleepUntil(t *testing.T, at time.Time) { sleep(t, time.Until(at)) }

// sleep lets time pass: the expiry tests are about the passing of time itself.
func sleep(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-time.After(d):
	case <-t.Context().Done():
		t.Fatal("test ended while waiting")
	}
}

// testInUseNeverExpires writes to a chat every second for three TTLs: every
// record and file stays and the chat loads whole, though its first records
// and its file are much older than the TTL. A failed write or read proves
// nothing if it may have reached the store a TTL (less the granularity)
// after the write before it started: the chat could have expired in
// between, as it should.
func testInUseNeverExpires(t *testing.T, s chat.Store) {
	retryScenario(t, func() untimed {
		id := create(t, s, 1)
		file := content(t, 300<<10)
		putFile(t, s, id, "f", file)
		last := time.Now() // the file's write started before this
		late := func(call span) untimed {
			if gap := call.to.Sub(last); gap >= ShortTTL-granularity {
				return untimed(fmt.Sprintf("a call that failed may have reached the store %v after the write before it", gap.Round(time.Millisecond)))
			}
			return ""
		}
		start, seq := last, uint64(1)
		for time.Since(start) < 3*ShortTTL {
			sleep(t, time.Second)
			seq++
			var err error
			call := timed(func() { err = s.Append(ctx(t), id, recs(seq, seq, "live")) })
			if err != nil {
				if why := late(call); why != "" {
					return why
				}
				t.Fatalf("append %d after %v: %v", seq, time.Since(start).Round(time.Millisecond), err)
			}
			last = call.from
		}
		var rs []chat.Record
		var data []byte
		var err error
		read := timed(func() {
			_, rs, err = s.Load(ctx(t), id)
			if err == nil {
				data, err = s.ReadFile(ctx(t), id, "f")
			}
		})
		if err != nil {
			if why := late(read); why != "" {
				return why
			}
			t.Fatalf("a chat written %v ago: %v", read.to.Sub(last).Round(time.Millisecond), err)
		}
		checkDense(t, rs, seq)
		if string(rs[0].Data) != "event 1 c" || string(rs[seq-1].Data) != fmt.Sprintf("event %d live", seq) {
			t.Fatalf("records changed: first %q, last %q", rs[0].Data, rs[seq-1].Data)
		}
		if !bytes.Equal(data, file) {
			t.Fatalf("ReadFile = %d bytes, want the %d stored", len(data), len(file))
		}
		return ""
	})
}

// testIdleExpires: a chat last written longer ago than the TTL is gone, for
// Load, Append and its files; one last written less long ago is kept,
// however old.
func testIdleExpires(t *testing.T, s chat.Store) {
	retryScenario(t, func() untimed { return idleExpires(t, s) })
}

// idleExpires creates a chat, appends to it two thirds of a TTL later and
// reads it a TTL after its creation: whole. Then it waits for it to go.
func idleExpires(t *testing.T, s chat.Store) untimed {
	id := create(t, s, 2)
	putFile(t, s, id, "f", []byte("kept while the chat is"))
	created := time.Now() // the chat's first writes ended before this
	sleepUntil(t, created.Add(ShortTTL*2/3))
	var err error
	appended := timed(func() { err = s.Append(ctx(t), id, recs(3, 3, "a")) })
	if err != nil {
		if appended.to.After(created.Add(ShortTTL - granularity)) {
			return untimed(fmt.Sprintf("the append failed, returning %v after the create", appended.to.Sub(created).Round(time.Millisecond)))
		}
		t.Fatalf("append: %v", err)
	}
	// Read when the create's writes are older than the TTL and the append
	// is younger: halfway between.
	older, younger := created.Add(ShortTTL), appended.from.Add(ShortTTL-granularity)
	sleepUntil(t, older.Add(younger.Sub(older)/2))
	var rs []chat.Record
	var data []byte
	read := timed(func() {
		_, rs, err = s.Load(ctx(t), id)
		if err == nil {
			data, err = s.ReadFile(ctx(t), id, "f")
		}
	})
	if read.from.Before(older) {
		return untimed(fmt.Sprintf("the read started %v after the create, before the TTL", read.from.Sub(created).Round(time.Millisecond)))
	}
	if err != nil || len(rs) != 3 || string(data) != "kept while the chat is" {
		if read.to.After(younger) {
			return untimed(fmt.Sprintf("the read failed, returning %v after the append started", read.to.Sub(appended.from).Round(time.Millisecond)))
		}
		t.Fatalf("a chat written %v ago, created %v ago: %d records, file %q, %v; want 3 records and the file",
			read.to.Sub(appended.from).Round(time.Millisecond), read.to.Sub(created).Round(time.Millisecond), len(rs), data, err)
	}
	waitExpired(t, s, id, appended)
	return ""
}

// waitExpired waits for the chat last written during appended to be gone:
// never before the TTL (less the granularity) from the write's start,
// and for every read that starts 2 s after the TTL from its end. An expired
// chat takes no append and shows no file.
func waitExpired(t *testing.T, s chat.Store, id string, appended span) {
	t.Helper()
	deadline := appended.to.Add(ShortTTL + 2*time.Second)
	for {
		var err error
		read := timed(func() { _, _, err = s.Load(ctx(t), id) })
		if errors.Is(err, chat.ErrUnknownChat) {
			if idle := read.to.Sub(appended.from); idle < ShortTTL-granularity {
				t.Fatalf("the chat expired %v after its last write, before its TTL of %v", idle, ShortTTL)
			}
			break
		}
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if read.from.After(deadline) {
			t.Fatalf("the chat still loads %v after its last write (TTL %v)", read.from.Sub(appended.to), ShortTTL)
		}
		sleep(t, 100*time.Millisecond)
	}
	err := s.Append(ctx(t), id, recs(4, 4, "late"))
	if !errors.Is(err, chat.ErrUnknownChat) && !errors.Is(err, chat.ErrSeqTaken) {
		t.Fatalf("append to an expired chat: err = %v, want ErrUnknownChat", err)
	}
	if _, err := s.ReadFile(ctx(t), id, "f"); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("ReadFile of an expired chat: err = %v, want ErrUnknownChat", err)
	}
}
