package chatnode

import (
	"testing"
	"time"
)

// TestLatePurgeDoesNotHideALaterOne: a purge from an earlier restore that
// arrives late (its node read it when it resumed) must not hide the purge
// from a restore later than the one under way here, which came first.
func TestLatePurgeDoesNotHideALaterOne(t *testing.T) {
	var p purgeMarks
	now := time.Now()
	since := p.now() // a restore here starts; it will store the chat up to seq 54
	p.mark("c", 58, now)
	p.mark("c", 50, now) // late, from an earlier restore
	if !p.since("c", since, 54) {
		t.Fatal("the purge from the restore that stored up to 58 was hidden by a late one from 50")
	}
	if p.since("c", p.now(), 54) {
		t.Fatal("a restore that started after both purges gives up")
	}
	other := p.now()
	p.mark("c", 50, now)
	if p.since("c", other, 54) {
		t.Fatal("a purge from an earlier restore (50) makes a later one (54) give up")
	}
}

// TestPurgeMarksBoundedAndExpire: a chat keeps its last maxMarksPerChat
// purges, and marks go after purgeMarkLife.
func TestPurgeMarksBoundedAndExpire(t *testing.T) {
	var p purgeMarks
	now := time.Now()
	for i := range 3 * maxMarksPerChat {
		p.mark("c", uint64(i+1), now)
	}
	if n := len(p.at["c"]); n != maxMarksPerChat {
		t.Fatalf("%d marks kept, want %d", n, maxMarksPerChat)
	}
	p.mark("d", 1, now.Add(-2*purgeMarkLife))
	p.expire(now)
	if _, ok := p.at["d"]; ok {
		t.Fatal("an old mark was kept")
	}
	if len(p.at["c"]) != maxMarksPerChat {
		t.Fatal("fresh marks were expired")
	}
}
