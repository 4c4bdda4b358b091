package proxy

import (
	"sync"
	"sync/atomic"
	"time"
)

// brokenSet holds the nodes this proxy found failing, each until a deadline.
// Reads take no lock: the map is copied on write, which is rare.
type brokenSet struct {
	mu    sync.Mutex // serialises writers
	until atomic.Pointer[map[string]time.Time]
}

func newBrokenSet() *brokenSet {
	b := &brokenSet{}
	b.until.Store(&map[string]time.Time{})
	return b
}

// has reports whether name is broken at now.
func (b *brokenSet) has(name string, now time.Time) bool {
	t, ok := (*b.until.Load())[name]
	return ok && now.Before(t)
}

// mark makes name broken until deadline.
func (b *brokenSet) mark(name string, deadline time.Time) {
	b.edit(func(m map[string]time.Time) { m[name] = deadline })
}

// clear makes name usable again.
func (b *brokenSet) clear(name string) {
	if _, ok := (*b.until.Load())[name]; ok {
		b.edit(func(m map[string]time.Time) { delete(m, name) })
	}
}

func (b *brokenSet) edit(f func(map[string]time.Time)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.until.Load()
	next := make(map[string]time.Time, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	f(next)
	b.until.Store(&next)
}

// count returns how many nodes are broken at now.
func (b *brokenSet) count(now time.Time) int {
	n := 0
	for _, t := range *b.until.Load() {
		if now.Before(t) {
			n++
		}
	}
	return n
}
