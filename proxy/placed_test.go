package proxy

import (
	"testing"
	"time"
)

// TestPlacedReconciles: placements count until a gossiped count that rose
// covers them, until placedLag before a new count arrived, or for
// placedHorizon at most; a taken-back placement does not count.
func TestPlacedReconciles(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	pl := &placed{}
	pl.observe(10, at(0))
	for i := range 5 {
		pl.add(at(100 + 10*i)) // 100..140
	}
	pl.add(at(105)) // out of order
	if n := pl.count(at(150)); n != 6 {
		t.Fatalf("count after 6 placements = %d", n)
	}
	pl.remove(at(140)) // the node refused it
	if n := pl.count(at(150)); n != 5 {
		t.Fatalf("count after a take-back = %d", n)
	}
	pl.observe(10, at(200)) // the same count again: nothing arrived
	if n := pl.count(at(200)); n != 5 {
		t.Fatalf("count after an unchanged count = %d", n)
	}
	pl.observe(13, at(300)) // rose by 3: the 3 oldest are in it
	if n := pl.count(at(300)); n != 2 {
		t.Fatalf("count after the count rose by 3 = %d", n)
	}
	pl.observe(12, at(400)) // fell (chats ended): nothing known to be in it
	if n := pl.count(at(400)); n != 2 {
		t.Fatalf("count after the count fell = %d", n)
	}
	pl.add(at(1500))
	pl.observe(11, at(1400).Add(placedLag)) // placements before 1400 are in it
	if n := pl.count(at(1500)); n != 1 {
		t.Fatalf("count after a count arrived placedLag later = %d", n)
	}
	if n := pl.count(at(1500).Add(placedHorizon)); n != 0 {
		t.Fatalf("count after placedHorizon = %d", n)
	}
	pl.add(at(5000))
	pl.observe(100, at(5001)) // a rise larger than what is counted
	if n := pl.count(at(5001)); n != 0 {
		t.Fatalf("count after a large rise = %d", n)
	}
}
