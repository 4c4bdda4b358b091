package proxy

import (
	"slices"
	"sync"
	"time"
)

// A chat node gossips its session count when it changes, at most every
// 250 ms, and the count takes a few gossip rounds to reach every proxy. In a
// burst of creates the gossiped counts therefore lag behind the chats each
// proxy has just placed, and placement by them alone overloads the nodes
// that rendezvous hashing favours. So the proxy adds to each node's
// gossiped count the chats it placed there that the count does not include
// yet (ring.Node.Recent), reconciled whenever a new count arrives:
//
//   - a count that rose by d includes (at most) the d oldest chats still
//     counted, which are dropped: with one proxy placing, that is exact;
//     with several, the rise also holds the others' chats and this proxy
//     may drop its own too early, never later than without counting;
//   - chats placed more than placedLag before a new count arrived are in it;
//   - after placedHorizon a chat is in the count, or the count did not
//     change because chats ended as fast as they came, and is right as it is.
const (
	// placedLag bounds how old a node's count may be when it reaches the
	// proxy: from the node reading it to the proxy's view holding it (one
	// publish tick plus gossip's spread: under a second on a quiet LAN, but
	// past one second on a host whose cores are all busy, where a shorter
	// lag forgot placements the count did not hold yet and overfilled the
	// node that rendezvous hashing favours). Too long only keeps a node
	// counted a little fuller for a while when its chats end as fast as
	// they come.
	placedLag = 2 * time.Second
	// placedHorizon bounds how long one placement counts.
	placedHorizon = 4 * time.Second
)

// placed counts the chats this proxy placed on one node process that the
// node's gossiped session count does not include yet. Successive tables
// share it while they route to the process.
type placed struct {
	mu       sync.Mutex  // guards seen, sessions and times
	seen     bool        // sessions holds a gossiped count
	sessions int         // the gossiped count last observed
	times    []time.Time // when each counted chat was placed, oldest first
}

// observe records the node's gossiped session count as a view shows it at
// now. A count that differs from the last one observed has just arrived.
func (pl *placed) observe(sessions int, now time.Time) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.seen && sessions == pl.sessions {
		return
	}
	included := 0
	if pl.seen {
		included = min(max(sessions-pl.sessions, 0), len(pl.times))
	}
	pl.seen, pl.sessions = true, sessions
	pl.forget(included, now.Add(-placedLag))
}

// add counts a chat placed on the node at now.
func (pl *placed) add(now time.Time) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	i := len(pl.times)
	for i > 0 && pl.times[i-1].After(now) { // concurrent creates may come a little out of order
		i--
	}
	pl.times = slices.Insert(pl.times, i, now)
}

// remove takes back the placement counted at at: the node did not create
// the chat.
func (pl *placed) remove(at time.Time) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for i := len(pl.times) - 1; i >= 0; i-- {
		if pl.times[i].Equal(at) {
			pl.times = slices.Delete(pl.times, i, i+1)
			return
		}
	}
}

// count returns how many chats placed on the node its gossiped count does
// not include yet at now.
func (pl *placed) count(now time.Time) int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.forget(0, now.Add(-placedHorizon))
	return len(pl.times)
}

// forget drops the n oldest placements and then every one made at or
// before cutoff; pl.mu is held.
func (pl *placed) forget(n int, cutoff time.Time) {
	for n < len(pl.times) && !pl.times[n].After(cutoff) {
		n++
	}
	pl.times = slices.Delete(pl.times, 0, n)
}
