package check

import (
	"fmt"
	"testing"
)

// BenchmarkCheck checks a history of 50 chats of 200 messages each, with a
// refresh after every message; every tenth send had no answer but took
// effect, and 20 more sends had no answer and did not.
func BenchmarkCheck(b *testing.B) {
	h := &History{}
	for i := range 50 {
		c := bigChat(fmt.Sprintf("chat%d", i), 200)
		for j := 0; j < len(c.Ops); j += 20 {
			c.Ops[j].Outcome, c.Ops[j].Status = Ambiguous, 0
		}
		for j := range 20 {
			t := int64(j * 100)
			c.Ops = append(c.Ops, sendOp("client", fmt.Sprintf("lost-in-flight-%d", j), t, t+3, Ambiguous))
		}
		h.Chats = append(h.Chats, c)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := Check(h, DefaultConfig())
		if err != nil || !s.OK() || s.Unknown != 0 {
			b.Fatalf("err %v, summary\n%s", err, s)
		}
	}
}
