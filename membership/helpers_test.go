package membership

import (
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// testLogger discards logs unless CHATHA_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("CHATHA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// lastIncarnation numbers the members the tests start, so each has its own.
var lastIncarnation atomic.Uint64

// testConfig returns a local config for a chat node called name that joins join.
func testConfig(name string, join ...string) *Config {
	c := DefaultLocalConfig()
	c.Name, c.Role, c.APIAddr, c.Join = name, RoleNode, "127.0.0.1:8080", join
	c.Incarnation = lastIncarnation.Add(1)
	c.Logger = testLogger()
	return c
}

// startMember creates a member and shuts it down at the end of the test.
func startMember(t *testing.T, cfg *Config) *Member {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.Name, err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

// startCluster starts n members named n0, n1, ... that join the first, and
// waits until each sees all of them alive.
func startCluster(t *testing.T, n int, tune func(*Config)) []*Member {
	t.Helper()
	ms := make([]*Member, n)
	for i := range ms {
		cfg := testConfig(string(rune('a'+i)) + "-node")
		if i > 0 {
			cfg.Join = []string{ms[0].Addr()}
		}
		if tune != nil {
			tune(cfg)
		}
		ms[i] = startMember(t, cfg)
	}
	for _, m := range ms {
		waitView(t, m, 5*time.Second, "all members alive", func(v *View) bool {
			return len(v.Live(RoleNode)) == n
		})
	}
	return ms
}

// waitView waits, without polling, until cond holds for m's current View.
func waitView(t *testing.T, m *Member, timeout time.Duration, what string, cond func(*View) bool) *View {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		v := m.Current()
		if cond(v) {
			return v
		}
		select {
		case <-v.Changed():
		case <-timer.C:
			t.Fatalf("%s: %s not seen within %s; view: %+v", m.Name(), what, timeout, v.Nodes())
		}
	}
}

// stateOf returns the state of the live-or-latest incarnation of name.
func stateOf(v *View, name string) (State, bool) {
	n, ok := v.Lookup(name)
	return n.State, ok
}

// muteTransport is a real NetTransport that can be cut off: while muted it
// sends nothing and dials nothing, as a member that is paused or
// partitioned away. It still receives.
type muteTransport struct {
	*memberlist.NetTransport
	muted atomic.Bool
}

var errMuted = errors.New("muted")

func newMuteTransport(t *testing.T) *muteTransport {
	t.Helper()
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{"127.0.0.1"},
		Logger:    log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatalf("NewNetTransport: %v", err)
	}
	return &muteTransport{NetTransport: nt}
}

func (mt *muteTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return mt.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (mt *muteTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if mt.muted.Load() {
		return time.Now(), nil // lost on the way
	}
	return mt.NetTransport.WriteToAddress(b, a)
}

func (mt *muteTransport) DialTimeout(addr string, d time.Duration) (net.Conn, error) {
	return mt.DialAddressTimeout(memberlist.Address{Addr: addr}, d)
}

func (mt *muteTransport) DialAddressTimeout(a memberlist.Address, d time.Duration) (net.Conn, error) {
	if mt.muted.Load() {
		return nil, errMuted
	}
	return mt.NetTransport.DialAddressTimeout(a, d)
}
