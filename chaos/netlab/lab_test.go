package netlab

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// host stands for the test process itself in reachability checks.
const host = "host"

// reach returns how a TCP echo from who (a member, or host) to addr ended:
// exitReached, exitUnreachable, exitRefused or exitBroken.
func reach(t *testing.T, l *Lab, who, addr string) int {
	t.Helper()
	if who == host {
		err := echo(addr)
		if err != nil {
			t.Logf("host to %s: %v", addr, err)
		}
		return dialExit(err)
	}
	return exitCode(t, helper(t, l, who, "dial", addr))
}

// waitReach polls until every one of whos reaches addr, or fails after ten
// seconds.
func waitReach(t *testing.T, l *Lab, addr string, whos ...string) {
	t.Helper()
	for _, who := range whos {
		deadline := time.Now().Add(10 * time.Second)
		for code := reach(t, l, who, addr); code != exitReached; code = reach(t, l, who, addr) {
			if time.Now().After(deadline) {
				t.Fatalf("%s cannot reach %s: exit %d", who, addr, code)
			}
			time.Sleep(100 * time.Millisecond) // polling interval
		}
	}
}

// wantUnreachable fails unless a connection from each of whos to addr times
// out or finds no route (refused would mean the packets got through).
func wantUnreachable(t *testing.T, l *Lab, addr string, whos ...string) {
	t.Helper()
	for _, who := range whos {
		if got := reach(t, l, who, addr); got != exitUnreachable {
			t.Errorf("%s to %s: exit %d, want %d (unreachable)", who, addr, got, exitUnreachable)
		}
	}
}

// udpArrives tells whether datagrams sent from member from reach a receiver
// in member to.
func udpArrives(t *testing.T, l *Lab, from, to string, port uint16) bool {
	t.Helper()
	addr := netip.AddrPortFrom(l.Addr(to), port).String()
	recv := helper(t, l, to, "udprecv", addr)
	startReady(t, recv)
	if code := exitCode(t, helper(t, l, from, "udpsend", addr)); code != 0 {
		t.Fatalf("udpsend from %s exited %d", from, code)
	}
	err := recv.Wait()
	var code int
	if err != nil {
		code = recv.ProcessState.ExitCode()
	}
	if code != exitReached && code != exitUnreachable {
		t.Fatalf("udprecv in %s: %v", to, err)
	}
	return code == exitReached
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestLabPartitions runs an echo server in one of three namespaces and
// checks who reaches it as the lab isolates, blocks, partitions and heals.
func TestLabPartitions(t *testing.T) {
	l := NewForTest(t, DefaultConfig())
	addr := netip.AddrPortFrom(l.Addr("m1"), 7000).String()
	startReady(t, helper(t, l, "m1", "echo", addr))
	waitReach(t, l, addr, host, "m2", "m3")

	must(t, l.Isolate("m1"))
	wantUnreachable(t, l, addr, host, "m2", "m3")
	must(t, l.Heal("m1"))
	waitReach(t, l, addr, host, "m2", "m3")

	must(t, l.Block("m2", "m1"))
	wantUnreachable(t, l, addr, "m2")
	waitReach(t, l, addr, host, "m3")
	if !udpArrives(t, l, "m1", "m2", 7001) {
		t.Error("Block(m2, m1) stopped datagrams from m1 to m2")
	}
	if udpArrives(t, l, "m2", "m1", 7002) {
		t.Error("Block(m2, m1) let datagrams from m2 reach m1")
	}
	must(t, l.Unblock("m2", "m1"))
	waitReach(t, l, addr, "m2")

	must(t, l.Partition("m1", "m3"))
	must(t, l.Block("m2", "m1"))
	wantUnreachable(t, l, addr, "m2", "m3")
	waitReach(t, l, addr, host)
	must(t, l.Isolate("m1"))
	wantUnreachable(t, l, addr, host)
	must(t, l.HealAll())
	waitReach(t, l, addr, host, "m2", "m3")
}

func TestLabRejectsUnknownMembers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Members = []string{"a", "b"}
	cfg.HostLink = false
	l := NewForTest(t, cfg)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"isolate", l.Isolate("c"), "unknown lab member"},
		{"heal", l.Heal("c"), "unknown lab member"},
		{"block from", l.Block("c", "a"), "unknown lab member"},
		{"block to", l.Block("a", "c"), "unknown lab member"},
		{"block itself", l.Block("a", "a"), "from itself"},
		{"unblock", l.Unblock("a", "c"), "unknown lab member"},
	}
	for _, tc := range tests {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, tc.err, tc.want)
		}
	}
	if _, err := l.Command(t.Context(), "c", "true"); !errors.Is(err, ErrUnknownMember) {
		t.Errorf("Command in an unknown member: %v", err)
	}
	if l.HostAddr().IsValid() {
		t.Errorf("a lab without host link has host address %v", l.HostAddr())
	}
}

func TestCloseRemovesEverything(t *testing.T) {
	tests := []struct {
		hostLink bool
		want     int // namespaces and links while open
	}{
		{hostLink: true, want: 5},
		{hostLink: false, want: 4},
	}
	for _, tc := range tests {
		cfg := DefaultConfig()
		cfg.HostLink = tc.hostLink
		l, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		left, err := l.Leftovers()
		if err != nil || len(left) != tc.want {
			l.Close()
			t.Fatalf("host link %v: open lab has %v (%v), want %d names", tc.hostLink, left, err, tc.want)
		}
		must(t, l.Close())
		if left, err := l.Leftovers(); err != nil || len(left) != 0 {
			t.Errorf("host link %v: after Close %v remain (%v)", tc.hostLink, left, err)
		}
		must(t, l.Close())
		if err := l.Isolate("m1"); !errors.Is(err, ErrClosed) {
			t.Errorf("Isolate after Close: %v, want ErrClosed", err)
		}
	}
}

func TestCloseReportsProcessesLeft(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HostLink = false
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := helper(t, l, "m1", "echo", netip.AddrPortFrom(l.Addr("m1"), 7000).String())
	startReady(t, srv)
	err = l.Close()
	if err == nil || !strings.Contains(err.Error(), "still run") {
		t.Errorf("Close with a process inside: %v, want it reported", err)
	}
	if left, err := l.Leftovers(); err != nil || len(left) != 0 {
		t.Errorf("after Close %v remain (%v)", left, err)
	}
}

func TestNewCleansUpAfterFailure(t *testing.T) {
	before := labNamespaces(t)
	cfg := DefaultConfig()
	cfg.Subnet = netip.MustParsePrefix("127.0.0.0/24") // overlaps the host's loopback routes
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "overlaps a route of the host") {
		t.Fatalf("New on a subnet the host uses: %v", err)
	}
	for _, ns := range labNamespaces(t) {
		if !slices.Contains(before, ns) {
			t.Errorf("failed New left namespace %s", ns)
		}
	}
}

// labNamespaces lists the namespaces named like a lab's.
func labNamespaces(t *testing.T) []string {
	t.Helper()
	l := &Lab{ip: "ip", cfg: DefaultConfig()}
	out, err := l.output("netns", "list")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "chatha-") {
			names = append(names, f[0])
		}
	}
	return names
}

func TestExplicitSubnet(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Members = []string{"solo"}
	cfg.HostLink = false
	cfg.Subnet = netip.MustParsePrefix("10.213.250.0/24")
	l := NewForTest(t, cfg)
	if got, want := l.Addr("solo"), netip.MustParseAddr("10.213.250.1"); got != want {
		t.Errorf("member address %v, want %v", got, want)
	}
	if l.Subnet() != cfg.Subnet {
		t.Errorf("subnet %v, want %v", l.Subnet(), cfg.Subnet)
	}
}
