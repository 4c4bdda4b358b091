package check

import (
	"fmt"
	"sync"
	"testing"
)

func TestRecorderConcurrentUse(t *testing.T) {
	r := NewRecorder(99)
	var wg sync.WaitGroup
	for c := range 4 {
		for _, who := range []string{"client", "agent"} {
			wg.Go(func() {
				chat := fmt.Sprintf("chat%d", c)
				for i := range 50 {
					call := r.Now()
					r.Add(chat, sendOp(who, fmt.Sprintf("%s-%s-%d", chat, who, i), call, r.Now(), Acked))
				}
			})
		}
	}
	wg.Go(func() { r.Fault(Fault{Kind: "kill", Target: "node1", Start: r.Now()}) })
	wg.Wait()
	h := r.History()
	if h.Seed != 99 || len(h.Chats) != 4 || len(h.Faults) != 1 {
		t.Fatalf("history: seed %d, %d chats, %d faults; want 99, 4, 1", h.Seed, len(h.Chats), len(h.Faults))
	}
	for _, c := range h.Chats {
		if len(c.Ops) != 100 {
			t.Errorf("chat %s has %d ops, want 100", c.ID, len(c.Ops))
		}
		for _, op := range c.Ops {
			if op.Return < op.Call {
				t.Errorf("op returns at %d before its call at %d", op.Return, op.Call)
			}
		}
	}
}

func TestRecorderFinalAfterOps(t *testing.T) {
	r := NewRecorder(1)
	call := r.Now()
	r.Add("x", sendOp("client", "m1", call, r.Now(), Acked))
	r.Final("x", []Event{msg(1, "client", "m1")})
	h := r.History()
	r.Add("x", sendOp("client", "m2", r.Now(), r.Now(), Acked))
	if got := len(h.Chats[0].Ops); got != 1 {
		t.Fatalf("History() copy changed with a later Add: %d ops", got)
	}
	if f := h.Chats[0].Final; f == nil || f.At < h.Chats[0].Ops[0].Return {
		t.Fatalf("final transcript %+v not read after the op", f)
	}
	s := mustCheck(t, h)
	wantCounts(t, s, nil)
}
