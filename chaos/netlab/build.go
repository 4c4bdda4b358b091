package netlab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// labRange is where labs pick their /24 when the configuration names none.
var labRange = netip.MustParsePrefix("10.213.0.0/16")

// build creates the hub, the host link and the members, in that order: the
// host link picks the subnet the members' addresses come from.
func (l *Lab) build() error {
	if err := l.addNamespace(l.hub); err != nil {
		return err
	}
	if err := l.runEach(
		[]string{"-n", l.hub, "link", "add", "br0", "type", "bridge"},
		[]string{"-n", l.hub, "link", "set", "br0", "up"},
	); err != nil {
		return err
	}
	if err := l.setSubnet(); err != nil {
		return err
	}
	for i := range l.members {
		if err := l.addMember(i); err != nil {
			return err
		}
	}
	return nil
}

// setSubnet settles the lab's subnet, and links the host when asked to.
func (l *Lab) setSubnet() error {
	if !l.cfg.HostLink {
		l.subnet = l.cfg.Subnet
		if !l.subnet.IsValid() {
			l.subnet = randomSubnet(nil)
		}
		return nil
	}
	// Two labs linking the host at once must not pick the same subnet: the
	// pick and the address that claims it happen under a host-wide lock.
	unlock, err := lockHost()
	if err != nil {
		return err
	}
	defer unlock()
	used, err := l.hostPrefixes()
	if err != nil {
		return err
	}
	l.subnet = l.cfg.Subnet
	switch {
	case !l.subnet.IsValid():
		l.subnet = randomSubnet(used)
	case overlapsAny(l.subnet, used):
		return fmt.Errorf("subnet %v overlaps a route of the host", l.subnet)
	}
	if !l.subnet.IsValid() {
		return fmt.Errorf("no /24 of %v is free on the host", labRange)
	}
	return l.linkHost()
}

// linkHost connects the host to the bridge and gives it the subnet's .254.
func (l *Lab) linkHost() error {
	name := "chl" + l.id
	if err := l.run("link", "add", name, "type", "veth", "peer", "name", "host", "netns", l.hub); err != nil {
		return err
	}
	l.mu.Lock()
	l.hostIf = name
	l.mu.Unlock()
	return l.runEach(
		[]string{"-n", l.hub, "link", "set", "host", "master", "br0", "up"},
		[]string{"addr", "add", netip.PrefixFrom(hostAddr(l.subnet), 24).String(), "dev", name},
		[]string{"link", "set", name, "up"},
	)
}

// addMember creates member i's namespace and plugs it into the bridge. Its
// local routing rule moves behind the rules Block adds, so that those see
// packets addressed to the member.
func (l *Lab) addMember(i int) error {
	m := &l.members[i]
	m.Addr = memberAddr(l.subnet, i)
	if err := l.addNamespace(m.Namespace); err != nil {
		return err
	}
	ns := m.Namespace
	return l.runEach(
		[]string{"-n", l.hub, "link", "add", m.port, "type", "veth", "peer", "name", "eth0", "netns", ns},
		[]string{"-n", l.hub, "link", "set", m.port, "master", "br0", "up"},
		[]string{"-n", ns, "addr", "add", netip.PrefixFrom(m.Addr, 24).String(), "dev", "eth0"},
		[]string{"-n", ns, "link", "set", "eth0", "up"},
		[]string{"-n", ns, "rule", "add", "pref", fmt.Sprint(localRulePref), "lookup", "local"},
		[]string{"-n", ns, "rule", "del", "pref", "0"},
	)
}

// addNamespace creates namespace name with its loopback up.
func (l *Lab) addNamespace(name string) error {
	if err := l.run("netns", "add", name); err != nil {
		return err
	}
	l.mu.Lock()
	l.created = append(l.created, name)
	l.mu.Unlock()
	return l.run("-n", name, "link", "set", "lo", "up")
}

func (l *Lab) runEach(cmds ...[]string) error {
	for _, args := range cmds {
		if err := l.run(args...); err != nil {
			return err
		}
	}
	return nil
}

func memberAddr(subnet netip.Prefix, i int) netip.Addr {
	b := subnet.Addr().As4()
	b[3] = byte(i + 1)
	return netip.AddrFrom4(b)
}

func hostAddr(subnet netip.Prefix) netip.Addr {
	b := subnet.Addr().As4()
	b[3] = 254
	return netip.AddrFrom4(b)
}

// randomSubnet returns a /24 of labRange that overlaps none of used, from a
// random start; invalid when there is none.
func randomSubnet(used []netip.Prefix) netip.Prefix {
	start := rand.IntN(256)
	for k := range 256 {
		b := labRange.Addr().As4()
		b[2] = byte((start + k) % 256)
		p := netip.PrefixFrom(netip.AddrFrom4(b), 24)
		if !overlapsAny(p, used) {
			return p
		}
	}
	return netip.Prefix{}
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if p.Overlaps(u) {
			return true
		}
	}
	return false
}

// routeTypes are the words that may precede a route's destination.
var routeTypes = map[string]bool{
	"unicast": true, "local": true, "broadcast": true, "multicast": true, "anycast": true,
	"blackhole": true, "unreachable": true, "prohibit": true, "throw": true, "nat": true,
}

// hostPrefixes returns the destinations of the host's IPv4 routes in every
// table, the default route aside.
func (l *Lab) hostPrefixes() ([]netip.Prefix, error) {
	out, err := l.output("-4", "-o", "route", "show", "table", "all")
	if err != nil {
		return nil, err
	}
	var ps []netip.Prefix
	for _, line := range strings.Split(out, "\n") {
		if p, ok := routePrefix(strings.Fields(line)); ok {
			ps = append(ps, p)
		}
	}
	return ps, nil
}

// routePrefix returns the destination of one line of ip -o route.
func routePrefix(f []string) (netip.Prefix, bool) {
	if len(f) > 0 && routeTypes[f[0]] {
		f = f[1:]
	}
	if len(f) == 0 || f[0] == "default" {
		return netip.Prefix{}, false
	}
	if p, err := netip.ParsePrefix(f[0]); err == nil {
		return p, true
	}
	if a, err := netip.ParseAddr(f[0]); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// lockHost takes the host-wide lock of lab subnets and returns its release.
func lockHost() (func(), error) {
	path := filepath.Join(os.TempDir(), "chatha-netlab.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the lab lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot take the lab lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
