package proxy

import (
	"fmt"
	"sync"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/membership"
)

// maxEvents is how many events the timeline keeps.
const maxEvents = 200

// timeline keeps the proxy's recent events, oldest first, and how often it
// saw each member suspect.
type timeline struct {
	// mu guards events and suspicions.
	mu         sync.Mutex
	max        int
	events     []api.DashboardEvent
	suspicions map[string]int
}

func newTimeline(max int) *timeline {
	return &timeline{max: max, suspicions: map[string]int{}}
}

// add appends ev, forgetting the oldest event past max.
func (t *timeline) add(ev api.DashboardEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ev.Kind == "suspect" {
		t.suspicions[ev.Member]++
	}
	t.events = append(t.events, ev)
	if len(t.events) > t.max {
		t.events = append(t.events[:0:0], t.events[len(t.events)-t.max:]...)
	}
}

// snapshot returns a copy of the events and of the suspicion counts.
func (t *timeline) snapshot() ([]api.DashboardEvent, map[string]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := make(map[string]int, len(t.suspicions))
	for k, v := range t.suspicions {
		s[k] = v
	}
	return append([]api.DashboardEvent{}, t.events...), s
}

// memberKey names one incarnation of a member.
type memberKey struct {
	name string
	inc  uint64
}

// diffViews returns the events that turn prev into v: members that joined,
// changed state (suspect, alive again, dead, left), changed mode (drain,
// undrain, full) or refuted a suspicion of themselves.
func diffViews(prev, v *membership.View, now time.Time) []api.DashboardEvent {
	before := map[memberKey]membership.Node{}
	for _, n := range prev.Nodes() {
		before[memberKey{n.Name, n.Meta.Incarnation}] = n
	}
	var out []api.DashboardEvent
	at := now.UnixMilli()
	for _, n := range v.Nodes() {
		old, known := before[memberKey{n.Name, n.Meta.Incarnation}]
		ev := api.DashboardEvent{At: at, Member: n.Name, Role: n.Meta.Role.String()}
		for _, kd := range memberChanges(old, known, n) {
			ev.Kind, ev.Detail = kd[0], kd[1]
			out = append(out, ev)
		}
	}
	return out
}

// memberChanges returns the kind and detail of each event between old
// (when known) and n, one incarnation of a member.
func memberChanges(old membership.Node, known bool, n membership.Node) [][2]string {
	state := displayState(n)
	if !known {
		if !n.Live() {
			return nil // departed before this proxy saw it
		}
		return [][2]string{{"join", fmt.Sprintf("incarnation %d, %s", n.Meta.Incarnation, n.Meta.Mode)}}
	}
	var out [][2]string
	if was := displayState(old); was != state {
		switch {
		case state == membership.StateSuspect:
			out = append(out, [2]string{"suspect", "a probe of it failed"})
		case state == membership.StateAlive:
			out = append(out, [2]string{"alive", "answers again after being " + was.String()})
		case state == membership.StateDead:
			out = append(out, [2]string{"dead", "declared failed (was " + was.String() + ")"})
		case state == membership.StateLeft:
			out = append(out, [2]string{"left", "left the cluster"})
		}
	}
	if old.Meta.Mode != n.Meta.Mode && n.Live() && state != membership.StateLeft {
		kind := map[membership.Mode]string{membership.ModeActive: "undrain", membership.ModeDraining: "drain", membership.ModeFull: "full"}[n.Meta.Mode]
		out = append(out, [2]string{kind, fmt.Sprintf("%s, %d chats", n.Meta.Mode, n.Meta.Sessions)})
	}
	if d := n.Meta.Health.Refutations - old.Meta.Health.Refutations; d > 0 {
		out = append(out, [2]string{"refute", fmt.Sprintf("it refuted %d suspicions of itself", d)})
	}
	return out
}

// displayState is the state the cluster API shows: a live member that
// announced its leave is left.
func displayState(n membership.Node) membership.State {
	if n.Meta.Leaving && n.Live() {
		return membership.StateLeft
	}
	return n.State
}

// logEvent writes one log line for a membership or failover event.
func (p *Proxy) logEvent(ev api.DashboardEvent) {
	msg := map[string]string{
		"join": "member joined", "suspect": "member suspect", "alive": "member alive again", "dead": "member dead",
		"left": "member left", "drain": "node draining", "undrain": "node undrained", "full": "node full",
		"refute": "member refuted a suspicion", "restore": "chats restored", "failover": "failover",
	}[ev.Kind]
	if msg == "" {
		msg = ev.Kind
	}
	level := p.log.Info
	if ev.Kind == "suspect" || ev.Kind == "dead" || ev.Kind == "failover" {
		level = p.log.Warn
	}
	level(msg, "member", ev.Member, "role", ev.Role, "detail", ev.Detail)
}
