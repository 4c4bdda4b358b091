package membership

import (
	"sync"
	"testing"
	"time"
)

// TestLeaveWhilePublishingIsSeenLeft: a node that leaves while its state
// broadcasts are still going out (SIGTERM drains it, and its chats move
// away meanwhile) is seen left by every other member, never dead: no
// metadata broadcast may replace the leave notice before it went out.
func TestLeaveWhilePublishingIsSeenLeft(t *testing.T) {
	for round := range 5 {
		ms := startCluster(t, 3, nil)
		leaver := ms[2]
		var seen [2][]State
		var watchers sync.WaitGroup
		for i, m := range ms[:2] {
			watchers.Go(func() {
				seen[i] = watchLeaver(t, m, leaver.Name())
			})
		}
		stop := make(chan struct{})
		var pub sync.WaitGroup
		pub.Go(func() {
			for n := 1; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				leaver.Publish(ModeDraining, n)
				_ = leaver.SetSessions(n)
			}
		})
		waitView(t, ms[0], 5*time.Second, "the leaver's broadcasts", func(v *View) bool {
			n, _ := v.Lookup(leaver.Name())
			return n.Meta.Sessions > 0 // they go on while it leaves
		})
		if err := leaver.Leave(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		close(stop)
		pub.Wait()
		watchers.Wait()
		for i, states := range seen {
			if states[len(states)-1] != StateLeft {
				t.Fatalf("round %d: %s saw the leaver as %v, want left at the end", round, ms[i].Name(), states)
			}
			for _, s := range states {
				if s == StateDead {
					t.Fatalf("round %d: %s saw the leaver as %v, want never dead", round, ms[i].Name(), states)
				}
			}
		}
		for _, m := range ms {
			_ = m.Shutdown()
		}
	}
}

// watchLeaver returns every state m sees name in, until it is left or dead.
func watchLeaver(t *testing.T, m *Member, name string) []State {
	t.Helper()
	var states []State
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for v := m.Current(); ; v = m.Current() {
		s, _ := stateOf(v, name)
		if len(states) == 0 || states[len(states)-1] != s {
			states = append(states, s)
		}
		if s == StateLeft || s == StateDead {
			return states
		}
		select {
		case <-v.Changed():
		case <-timer.C:
			t.Errorf("%s: %s neither left nor dead within 10s (states %v)", m.Name(), name, states)
			return states
		}
	}
}
