package proxy

import (
	"sync"
	"sync/atomic"
	"time"
)

// brokenSet holds the node incarnations this proxy found failing, each until
// a deadline. A new incarnation of the same name (a restarted node) is not
// broken. Reads take no lock: the map is copied on write, which is rare.
type brokenSet struct {
	mu    sync.Mutex // serialises writers
	marks atomic.Pointer[map[string]mark]
}

// mark is one broken node incarnation.
type mark struct {
	incarnation uint64
	until       time.Time
}

func newBrokenSet() *brokenSet {
	b := &brokenSet{}
	b.marks.Store(&map[string]mark{})
	return b
}

// has reports whether incarnation inc of name is broken at now.
func (b *brokenSet) has(name string, inc uint64, now time.Time) bool {
	m, ok := (*b.marks.Load())[name]
	return ok && m.incarnation == inc && now.Before(m.until)
}

// mark makes incarnation inc of name broken until deadline.
func (b *brokenSet) mark(name string, inc uint64, deadline time.Time) {
	b.edit(func(m map[string]mark) { m[name] = mark{inc, deadline} })
}

// clear makes name usable again.
func (b *brokenSet) clear(name string) {
	if _, ok := (*b.marks.Load())[name]; ok {
		b.edit(func(m map[string]mark) { delete(m, name) })
	}
}

func (b *brokenSet) edit(f func(map[string]mark)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.marks.Load()
	next := make(map[string]mark, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	f(next)
	b.marks.Store(&next)
}

// count returns how many nodes are broken at now.
func (b *brokenSet) count(now time.Time) int {
	n := 0
	for _, m := range *b.marks.Load() {
		if now.Before(m.until) {
			n++
		}
	}
	return n
}
