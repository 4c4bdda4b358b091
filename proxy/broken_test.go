package proxy

import (
	"testing"
	"time"
)

func TestBrokenMarksOneIncarnation(t *testing.T) {
	b := newBrokenSet()
	now := time.Now()
	b.mark("n", 1, now.Add(time.Second))
	switch {
	case !b.has("n", 1, now):
		t.Fatal("the failed incarnation is not broken")
	case b.has("n", 2, now):
		t.Fatal("a restarted node (new incarnation) inherited the broken mark")
	case b.has("n", 1, now.Add(2*time.Second)):
		t.Fatal("the mark did not expire")
	case b.count(now) != 1:
		t.Fatalf("count = %d", b.count(now))
	}
	b.clear("n")
	if b.has("n", 1, now) {
		t.Fatal("clear kept the mark")
	}
}
