package ring

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

func names(nodes []Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	slices.Sort(out)
	return out
}

func TestHeirsNext(t *testing.T) {
	nodes := cluster(5) // n0..n4
	dead := nodes[0]
	h := Heirs{}.Next([]ID{dead.ID()}, nodes[1:])
	if got := names(h.Of(dead.ID())); !slices.Equal(got, []string{"n1", "n2", "n3", "n4"}) {
		t.Fatalf("first heirs: %v", got)
	}

	joiner := Node{Name: "j", Incarnation: 1}
	restarted := Node{Name: "n0", Incarnation: 99}
	nodes[1].Mode = ModeDraining
	alive := []Node{nodes[1], nodes[3], nodes[4], joiner, restarted} // n2 died too
	h = h.Next([]ID{dead.ID(), nodes[2].ID()}, alive)
	if got := names(h.Of(dead.ID())); !slices.Equal(got, []string{"n1", "n3", "n4"}) {
		t.Errorf("heirs of n0 after n2 died and j, n0' joined: %v", got)
	}
	if got := names(h.Of(nodes[2].ID())); !slices.Equal(got, []string{"j", "n0", "n1", "n3", "n4"}) {
		t.Errorf("heirs of n2, which died after the joins: %v", got)
	}
	if heirs := h.Of(dead.ID()); heirs[slices.IndexFunc(heirs, func(n Node) bool { return n.Name == "n1" })].Mode != ModeDraining {
		t.Error("an heir keeps its mode of the view it was recorded in")
	}

	h = h.Next([]ID{dead.ID(), nodes[2].ID()}, []Node{joiner, restarted}) // every heir of n0 is gone
	if got := names(h.Of(dead.ID())); !slices.Equal(got, []string{"j"}) {
		t.Errorf("heirs of n0 once its heirs are all gone: %v, want the live nodes but n0'", got)
	}
	h = h.Next([]ID{dead.ID()}, []Node{joiner, restarted, {Name: "k", Incarnation: 1}})
	if got := names(h.Of(dead.ID())); !slices.Equal(got, []string{"j"}) {
		t.Errorf("heirs after a second join: %v", got)
	}
	if h.Of(nodes[2].ID()) != nil || h.Len() != 1 {
		t.Errorf("n2 is no longer departed (came back or forgotten), still has heirs: %d recorded", h.Len())
	}
	if (Heirs{}).Of(dead.ID()) != nil || (Heirs{}).Len() != 0 {
		t.Error("the zero Heirs records a departure")
	}
	if got := (Heirs{}).Next([]ID{dead.ID(), dead.ID()}, nil); got.Len() != 1 || len(got.Of(dead.ID())) != 0 {
		t.Errorf("a departure listed twice with nobody alive: %d recorded, heirs %v", got.Len(), got.Of(dead.ID()))
	}
}

// TestHeirsAgreeAcrossAFalseDeath: node x is falsely declared dead, at one
// proxy only, just when home d really dies. Once x has refuted, both
// proxies hold x as an heir of d and route d's chats alike.
func TestHeirsAgreeAcrossAFalseDeath(t *testing.T) {
	nodes := cluster(6)
	d, x := nodes[0], nodes[1]
	var sawFlap, steady Heirs
	sawFlap = sawFlap.Next(nil, nodes)
	steady = steady.Next(nil, nodes)
	sawFlap = sawFlap.Next([]ID{d.ID(), x.ID()}, nodes[2:]) // x looks dead here
	steady = steady.Next([]ID{d.ID()}, nodes[1:])
	sawFlap = sawFlap.Next([]ID{d.ID()}, nodes[1:]) // x refuted
	if got, want := names(sawFlap.Of(d.ID())), names(steady.Of(d.ID())); !slices.Equal(got, want) {
		t.Fatalf("heirs of d: %v at the proxy that saw x dead, %v at the other", got, want)
	}
	toX := 0
	for _, id := range chatIDs(t, 1000, d, 11) {
		a, _, _ := Route(id, d, sawFlap.Of(d.ID()), nodes[1:], nil)
		b, _, _ := Route(id, d, steady.Of(d.ID()), nodes[1:], nil)
		if a != b {
			t.Fatalf("chat %s: %s at one proxy, %s at the other", id, a, b)
		}
		if a == x.Name {
			toX++
		}
	}
	if toX == 0 {
		t.Error("x, an heir, got none of d's chats")
	}
}

// TestHeirsNextSkipsSessionCounts: a view that differs only in session
// counts (and order) reuses the heirs; a mode change does not.
func TestHeirsNextSkipsSessionCounts(t *testing.T) {
	nodes := cluster(5)
	d := nodes[0]
	h := Heirs{}.Next([]ID{d.ID()}, nodes[1:])
	busier := shuffled(nodes[1:], rand.New(rand.NewPCG(1, 1)))
	for i := range busier {
		busier[i].Sessions += 10
	}
	if again := h.Next([]ID{d.ID()}, busier); unsafe.SliceData(again.Of(d.ID())) != unsafe.SliceData(h.Of(d.ID())) {
		t.Error("new session counts rebuilt the heirs")
	}
	draining := slices.Clone(nodes[1:])
	draining[0].Mode = ModeDraining
	again := h.Next([]ID{d.ID()}, draining)
	if i := slices.IndexFunc(again.Of(d.ID()), func(n Node) bool { return n.Name == draining[0].Name }); i < 0 || again.Of(d.ID())[i].Mode != ModeDraining {
		t.Errorf("a mode change is not in the heirs: %+v", again.Of(d.ID()))
	}
}

// history is a random sequence of joins, leaves, kills and restarts of
// chat nodes, with chats created along the way, as one proxy sees it.
type history struct {
	r        *rand.Rand
	alive    []Node
	departed []ID
	homes    map[ID]Node // every incarnation ever seen
	chats    []chat
	names    int
	incs     uint64
}

// chat is one chat of the history and the node incarnation serving it,
// with heirs and under the rule without them.
type chat struct {
	id              string
	home            ID
	owner, oldOwner ID
}

func newHistory(t *testing.T, seed uint64, nodes int) *history {
	h := &history{r: rand.New(rand.NewPCG(seed, 7)), homes: map[ID]Node{}}
	for range nodes {
		h.join("")
	}
	return h
}

// join adds a node called name (a new name if empty) with a new incarnation.
func (h *history) join(name string) {
	if name == "" {
		name = fmt.Sprintf("n%d", h.names)
		h.names++
	}
	h.incs++
	n := Node{Name: name, Incarnation: 1000 + h.incs}
	h.alive = append(h.alive, n)
	h.homes[n.ID()] = n
}

// depart takes a random live node away (killed or left: routing treats
// both alike) and returns it.
func (h *history) depart() Node {
	i := h.r.IntN(len(h.alive))
	n := h.alive[i]
	h.alive = slices.Delete(h.alive, i, i+1)
	h.departed = append(h.departed, n.ID())
	return n
}

// step applies one random event and returns its description and, for a
// refutation, the node that came back.
func (h *history) step() (string, ID) {
	switch e := h.r.IntN(11); {
	case e == 10 && len(h.departed) > 0: // a node declared dead refutes: the same incarnation is back
		d := h.departed[len(h.departed)-1]
		if !slices.ContainsFunc(h.alive, func(n Node) bool { return n.Name == d.Name }) {
			h.departed = h.departed[:len(h.departed)-1]
			h.alive = append(h.alive, h.homes[d])
			return "refute " + d.Name, d
		}
		h.join("")
		return "join", ID{}
	case e < 3 && len(h.alive) < 12:
		h.join("")
		return "join", ID{}
	case e < 6 && len(h.alive) > 2:
		return "depart " + h.depart().Name, ID{}
	case e < 8 && len(h.alive) > 2: // killed and back at once (a fast restart)
		n := h.depart()
		h.join(n.Name)
		return "restart " + n.Name, ID{}
	default: // a node departed earlier comes back as a new incarnation
		for _, d := range h.r.Perm(len(h.departed)) {
			name := h.departed[d].Name
			if !slices.ContainsFunc(h.alive, func(n Node) bool { return n.Name == name }) {
				h.join(name)
				return "late restart " + name, ID{}
			}
		}
		h.join("")
		return "join", ID{}
	}
}

// create adds n chats homed at random live nodes.
func (h *history) create(t *testing.T, n int) {
	for range n {
		home := h.alive[h.r.IntN(len(h.alive))]
		id := chatIDs(t, 1, home, h.r.Uint64())[0]
		h.chats = append(h.chats, chat{id: id, home: home.ID(), owner: home.ID(), oldOwner: home.ID()})
	}
}

// proxy is one proxy's routing state along a history.
type proxy struct {
	heirs Heirs
	alive []Node
}

// see gives the proxy the history's current view, in an order of its own.
func (p *proxy) see(h *history, r *rand.Rand) {
	departed := slices.Clone(h.departed)
	r.Shuffle(len(departed), func(i, j int) { departed[i], departed[j] = departed[j], departed[i] })
	p.alive = shuffled(h.alive, r)
	p.heirs = p.heirs.Next(departed, p.alive)
}

// route routes c as the proxy would; withHeirs false is the rule without
// heirs (every live node but the home's name).
func (p *proxy) route(c chat, homes map[ID]Node, withHeirs bool) string {
	var heirs []Node
	if withHeirs {
		heirs = p.heirs.Of(c.home)
	}
	target, _, _ := Route(c.id, homes[c.home], heirs, p.alive, nil)
	return target
}

// TestRandomHistories checks after each step of random join, leave, kill,
// restart and refutation sequences: a chat whose owner is still alive keeps
// its route (failed-over chats included), unless it goes to a node that came
// back from a false death (its home, or an heir it had failed over from); a
// departed owner's chats go each to exactly one survivor, spread over
// several; two proxies with the same history agree. The same histories
// routed without heirs do move chats of live owners, so the checks can fail.
func TestRandomHistories(t *testing.T) {
	movedWithoutHeirs, events := 0, map[string]int{}
	for seed := range uint64(6) {
		h := newHistory(t, seed, 6)
		h.create(t, 600)
		a, b := &proxy{}, &proxy{}
		ra, rb := rand.New(rand.NewPCG(seed, 1)), rand.New(rand.NewPCG(seed, 2))
		a.see(h, ra)
		b.see(h, rb)
		for step := range 150 {
			event, back := h.step()
			events[strings.Fields(event)[0]]++
			a.see(h, ra)
			b.see(h, rb)
			liveID := map[string]ID{}
			for _, n := range h.alive {
				liveID[n.Name] = n.ID()
			}
			spread := map[string]int{}
			for i, c := range h.chats {
				target := a.route(c, h.homes, true)
				if other := b.route(c, h.homes, true); other != target {
					t.Fatalf("seed %d step %d (%s): chat %s routed to %s by one proxy, %s by the other", seed, step, event, c.id, target, other)
				}
				now, ok := liveID[target]
				switch {
				case !ok:
					t.Fatalf("seed %d step %d (%s): chat %s routed to %q, not a live node", seed, step, event, c.id, target)
				case liveID[c.owner.Name] == c.owner && now != c.owner && now != back:
					t.Fatalf("seed %d step %d (%s): chat %s moved from live %v to %v", seed, step, event, c.id, c.owner, now)
				case now != c.owner && liveID[c.owner.Name] != c.owner:
					spread[target]++
				}
				old := liveID[a.route(c, h.homes, false)]
				if liveID[c.oldOwner.Name] == c.oldOwner && old != c.oldOwner {
					movedWithoutHeirs++
				}
				h.chats[i].owner, h.chats[i].oldOwner = now, old
			}
			if total := sum(spread); total >= 50 && len(h.alive) >= 3 && len(spread) < 2 {
				t.Fatalf("seed %d step %d (%s): %d orphaned chats all went to %v", seed, step, event, total, spread)
			}
			h.create(t, 10)
		}
	}
	if movedWithoutHeirs == 0 {
		t.Error("without heirs no chat of a live owner would have moved: the histories show nothing")
	}
	t.Logf("events %v; without heirs, chats would have left a live owner %d times", events, movedWithoutHeirs)
	if events["refute"] == 0 || events["restart"] == 0 || events["depart"] == 0 || events["join"] == 0 {
		t.Errorf("the histories miss a kind of event: %v", events)
	}
}

func sum(m map[string]int) int {
	total := 0
	for _, v := range m {
		total += v
	}
	return total
}

// BenchmarkHeirsNext: views of 50 live nodes, with 256 departures that are
// earlier incarnations of them (restarts) or of 256 nodes gone for good (the
// worst case: each may still come back, so each is an heir of the others),
// as most views come (only session counts changed) and with a mode changed.
func BenchmarkHeirsNext(b *testing.B) {
	nodes := cluster(50)
	for _, tc := range []struct {
		name string
		gone func(i int) ID
	}{
		{"restarts", func(i int) ID { return ID{Name: nodes[i%50].Name, Incarnation: uint64(i)} }},
		{"gone", func(i int) ID { return ID{Name: fmt.Sprintf("gone-%d", i), Incarnation: uint64(i)} }},
	} {
		var departed []ID
		h := Heirs{}.Next(nil, nodes)
		for i := range 256 {
			departed = append(departed, tc.gone(i))
			h = h.Next(departed, nodes)
		}
		b.Run(tc.name+"/sessions", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				nodes[i%len(nodes)].Sessions++
				h = h.Next(departed, nodes)
			}
		})
		b.Run(tc.name+"/mode", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				nodes[0].Mode = Mode(i % 2)
				h = h.Next(departed, nodes)
			}
		})
	}
}
