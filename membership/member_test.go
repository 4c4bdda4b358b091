package membership

import (
	"errors"
	"testing"
	"time"
)

func TestThreeMembersSeeEachOther(t *testing.T) {
	ms := startCluster(t, 3, func(c *Config) { c.Incarnation = uint64(c.Name[0]) * 1000 })
	for _, m := range ms {
		v := m.Current()
		for _, other := range ms {
			n, ok := v.Lookup(other.Name())
			switch {
			case !ok:
				t.Fatalf("%s does not see %s", m.Name(), other.Name())
			case n.State != StateAlive || n.Meta != other.Meta() || n.Addr != other.Addr():
				t.Errorf("%s sees %+v, want alive with %+v at %s", m.Name(), n, other.Meta(), other.Addr())
			}
		}
		if v.Checksum() != ms[0].Current().Checksum() {
			t.Errorf("%s: checksum %x, %s has %x", m.Name(), v.Checksum(), ms[0].Name(), ms[0].Current().Checksum())
		}
	}
}

func TestMetaUpdatesPropagate(t *testing.T) {
	ms := startCluster(t, 3, nil)
	before := ms[0].Current().Checksum()
	if err := ms[1].SetMode(ModeDraining); err != nil {
		t.Fatal(err)
	}
	if err := ms[1].SetSessions(42); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		waitView(t, m, 3*time.Second, "b draining with 42 sessions", func(v *View) bool {
			n, _ := v.Lookup(ms[1].Name())
			return n.Meta.Mode == ModeDraining && n.Meta.Sessions == 42 && n.State == StateAlive
		})
	}
	after := ms[0].Current().Checksum()
	if after == before || ms[2].Current().Checksum() != after {
		t.Errorf("checksums: before %x, after %x on a, %x on c", before, after, ms[2].Current().Checksum())
	}
}

func TestUpdateMetaRejectsBadChanges(t *testing.T) {
	m := startMember(t, testConfig("solo"))
	for name, f := range map[string]func(*Meta){
		"role":        func(mt *Meta) { mt.Role = RoleProxy },
		"incarnation": func(mt *Meta) { mt.Incarnation++ },
		"leaving":     func(mt *Meta) { mt.Leaving = true },
		"sessions":    func(mt *Meta) { mt.Sessions = -1 },
		"mode":        func(mt *Meta) { mt.Mode = 9 },
	} {
		if err := m.UpdateMeta(f); err == nil {
			t.Errorf("UpdateMeta changing %s: no error", name)
		}
	}
	if err := m.SetSessions(-1); !errors.Is(err, ErrBadMeta) {
		t.Errorf("SetSessions(-1) = %v, want ErrBadMeta", err)
	}
	if got := m.Meta(); got.Sessions != 0 || got.Mode != ModeActive {
		t.Errorf("meta changed by rejected updates: %+v", got)
	}
}

// TestShutdownIsSeenDead checks the tuned failure detector: a member that
// stops without leaving is declared dead (not left) within the bound.
func TestShutdownIsSeenDead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tune  func(*Config)
		bound time.Duration
	}{
		{"local", nil, 2 * time.Second},
		{"lan", useLANTimings, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := startCluster(t, 3, tc.tune)
			victim := ms[2]
			if err := victim.Shutdown(); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for _, m := range ms[:2] {
				waitView(t, m, 10*time.Second, "victim dead", func(v *View) bool {
					s, _ := stateOf(v, victim.Name())
					return s == StateDead
				})
				t.Logf("%s declared %s dead after %s", m.Name(), victim.Name(), time.Since(start).Round(time.Millisecond))
			}
			if took := time.Since(start); took > tc.bound {
				t.Errorf("dead after %s, want within %s", took, tc.bound)
			}
			if c1, c0 := ms[1].Current().Checksum(), ms[0].Current().Checksum(); c1 != c0 {
				t.Errorf("survivors disagree: checksums %x and %x", c0, c1)
			}
		})
	}
}

// useLANTimings keeps DefaultConfig's failure detector on 127.0.0.1:0.
func useLANTimings(c *Config) {
	lan := DefaultConfig()
	c.Memberlist = lan.Memberlist
}

func TestLeaveIsSeenLeftAtOnce(t *testing.T) {
	ms := startCluster(t, 3, nil)
	leaver := ms[2]
	start := time.Now()
	if err := leaver.Leave(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:2] {
		waitView(t, m, 3*time.Second, "leaver left", func(v *View) bool {
			s, _ := stateOf(v, leaver.Name())
			return s == StateLeft
		})
	}
	t.Logf("left seen after %s", time.Since(start).Round(time.Millisecond))
	if err := leaver.SetMode(ModeDraining); !errors.Is(err, ErrLeft) {
		t.Errorf("SetMode after Leave = %v, want ErrLeft", err)
	}
	if err := leaver.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := leaver.SetMode(ModeDraining); !errors.Is(err, ErrShutdown) {
		t.Errorf("SetMode after Shutdown = %v, want ErrShutdown", err)
	}
}

// TestRestartIsNewIncarnation: a member restarted under the same name is a
// new incarnation; the old one stays in the view as dead, for chat homes.
func TestRestartIsNewIncarnation(t *testing.T) {
	ms := startCluster(t, 2, nil)
	old := ms[1]
	oldInc := old.Meta().Incarnation
	if err := old.Shutdown(); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(old.Name(), ms[0].Addr())
	cfg.BindAddr = old.Addr() // a restart keeps its address (see DeadNodeReclaimTime otherwise)
	cfg.JoinAttempts, cfg.JoinRetryInterval = 20, 100*time.Millisecond
	restarted := startMember(t, cfg)
	newInc := restarted.Meta().Incarnation
	v := waitView(t, ms[0], 5*time.Second, "new incarnation alive", func(v *View) bool {
		n, _ := v.Lookup(old.Name())
		return n.Live() && n.Meta.Incarnation == newInc
	})
	var seenOld bool
	for _, n := range v.Nodes() {
		if n.Name == old.Name() && n.Meta.Incarnation == oldInc {
			seenOld = n.State == StateDead
		}
	}
	if !seenOld {
		t.Errorf("old incarnation %d not kept as dead: %+v", oldInc, v.Nodes())
	}
	if restarted.Refutations() != 0 {
		t.Errorf("refutations during New counted: %d", restarted.Refutations())
	}
}

// TestSuspectAndRefute cuts a member off until the others suspect it, then
// heals it: it must refute, and the others must see it alive again.
func TestSuspectAndRefute(t *testing.T) {
	var mute *muteTransport
	ms := startCluster(t, 3, func(c *Config) {
		c.Memberlist.DisableTcpPings = true // the mute transport still answers TCP
		// A refutation sent while muted is lost; the next push/pull heals.
		c.Memberlist.PushPullInterval = time.Second
		if c.Name == "c-node" {
			mute = newMuteTransport(t)
			c.Memberlist.Transport = mute
		}
	})
	victim := ms[2]
	refuted := make(chan struct{}, 1)
	victim.OnRefute(func() {
		select {
		case refuted <- struct{}{}:
		default:
		}
	})
	seen := make(chan State, 64)
	go recordStates(ms[0], victim.Name(), seen)
	mute.muted.Store(true)
	waitView(t, ms[0], 5*time.Second, "victim not alive", func(v *View) bool {
		s, _ := stateOf(v, victim.Name())
		return s != StateAlive
	})
	mute.muted.Store(false)
	select {
	case <-refuted:
	case <-time.After(10 * time.Second):
		t.Fatal("victim did not refute")
	}
	for _, m := range ms[:2] {
		waitView(t, m, 10*time.Second, "victim alive again", func(v *View) bool {
			s, _ := stateOf(v, victim.Name())
			return s == StateAlive
		})
	}
	if victim.Refutations() == 0 {
		t.Error("Refutations() = 0 after a refutation")
	}
	if !sawState(seen, StateSuspect) {
		t.Error("a never saw the victim suspect")
	}
}

// recordStates sends every state of name in m's successive views to out
// until m shuts down or out is full.
func recordStates(m *Member, name string, out chan<- State) {
	for v := m.Current(); ; {
		s, _ := stateOf(v, name)
		select {
		case out <- s:
		default:
			return
		}
		select {
		case <-v.Changed():
			v = m.Current()
		case <-time.After(20 * time.Second):
			return
		}
	}
}

func sawState(seen <-chan State, want State) bool {
	for {
		select {
		case s := <-seen:
			if s == want {
				return true
			}
		default:
			return false
		}
	}
}

func TestClosedMember(t *testing.T) {
	m := startMember(t, testConfig("closed"))
	for i := 0; i < 2; i++ {
		if err := m.Shutdown(); err != nil {
			t.Fatalf("Shutdown #%d: %v", i+1, err)
		}
	}
	if err := m.Leave(time.Second); !errors.Is(err, ErrShutdown) {
		t.Errorf("Leave after Shutdown = %v", err)
	}
	if _, err := m.Join("127.0.0.1:1"); !errors.Is(err, ErrShutdown) {
		t.Errorf("Join after Shutdown = %v", err)
	}
	if err := m.InstallKey(make([]byte, 16)); !errors.Is(err, ErrShutdown) {
		t.Errorf("InstallKey after Shutdown = %v", err)
	}
}

func TestJoinGivesUp(t *testing.T) {
	cfg := testConfig("lonely", "127.0.0.1:1")
	cfg.JoinAttempts, cfg.JoinRetryInterval = 2, 10*time.Millisecond
	if m, err := New(cfg); err == nil {
		_ = m.Shutdown()
		t.Fatal("New joined a cluster that does not exist")
	}
}
