package membership

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// Config configures a Member. Build it with DefaultConfig or
// DefaultLocalConfig, then set Name, Role, BindAddr and the rest.
type Config struct {
	// Name is the member's name, unique in the cluster (required).
	Name string
	// Role is what this member is: RoleNode, RoleProxy or RoleDashboard (required).
	Role Role
	// APIAddr is the host:port of this member's HTTP API, gossiped in Meta;
	// empty for a member with no API.
	APIAddr string
	// Incarnation identifies this process start and goes into Meta (required:
	// chatid.NewIncarnation for a chat node, the same the node has).
	Incarnation uint64
	// BindAddr is the host:port to gossip on, UDP and TCP; port 0 picks a
	// free port. Default "0.0.0.0:7946".
	BindAddr string
	// AdvertiseAddr is the ip:port the other members reach this one at;
	// empty (the default) uses BindAddr's IP, or a private IP of this host
	// when bound to 0.0.0.0.
	AdvertiseAddr string
	// Join lists host:port addresses of members to join in New; empty (the
	// default) starts a new cluster.
	Join []string
	// JoinAttempts bounds how many times New tries to join before it gives
	// up (default 5).
	JoinAttempts int
	// JoinRetryInterval is the pause between join attempts (default 1s).
	JoinRetryInterval time.Duration
	// SecretKey turns on gossip encryption with this AES key of 16, 24 or 32
	// bytes; empty (the default) gossips in clear. When set it replaces
	// Memberlist.SecretKey and Memberlist.Keyring.
	SecretKey []byte
	// AcceptKeys are more keys this member decrypts with but does not encrypt
	// with, while a key rotation is under way; they need SecretKey.
	AcceptKeys [][]byte
	// UpdateTimeout bounds how long UpdateMeta and Leave wait for their
	// broadcast to go out (default 2s).
	UpdateTimeout time.Duration
	// PublishInterval is the least time between two broadcasts of Publish
	// (default 250ms).
	PublishInterval time.Duration
	// MaxDeparted is how many dead or left members a View remembers, so a
	// chat whose home died can still be told apart from one whose home is
	// unknown (default 256).
	MaxDeparted int
	// Logger receives memberlist's log lines at their own level (default
	// slog.Default()).
	Logger *slog.Logger
	// Memberlist holds the failure detector and gossip settings. New copies
	// it and sets Name, BindAddr, BindPort, AdvertiseAddr, AdvertisePort,
	// Delegate, Events, Ping, Logger and LogOutput on the copy.
	Memberlist *memberlist.Config
	// HealthInterval is how often the member publishes its Health in its
	// Meta when it changed (default 5s; 0 publishes none).
	HealthInterval time.Duration
}

// DefaultConfig returns a Config tuned for a LAN: with 50 members, a member
// killed without leaving is seen dead by the median member after 0.7 s and
// by the slowest after 0.9-1.3 s (BenchmarkDetection50, 20 kills a run:
// go test -run XXX -bench Detection50 -benchtime 20x ./membership/); fewer
// members see it sooner. A live
// member is declared dead only if no prober hears from it for a probe
// interval plus the whole suspicion (0.3 s up to 10 members, 0.5 s at 50),
// and a suspected member that is running refutes within a few gossip
// rounds.
//
// Where the time goes, for n members and PI = ProbeInterval: each of the
// n-1 others probes one member per PI, so the dead one is first probed
// within about one PI (5% of the time after 3 PI) and that probe fails at
// the end of its PI; the suspicion then lasts SuspicionMult * max(1,
// log10(n)) * PI once a second prober confirms it (memberlist lengthens it
// with the cluster's size), and the dead notice reaches everyone within a
// few GossipIntervals. With memberlist's LAN defaults (1 s interval) the
// suspicion alone lasts 6.8 s at 50 members; the 250 ms interval and
// SuspicionMult 4 used before took 2.2-3.2 s from kill to dead, 1.7 s of it
// suspicion.
//
// False positives cost more than slow detection: a member declared dead by
// mistake gets its chats restored elsewhere and fenced off, twice (it
// refutes and takes its own chats back). On the request path the proxy
// does not wait for gossip: a refused connection or a timeout fails the
// request over at once. Gossip detection sets the routing of the other
// proxies and the dashboard. Lifeguard (awareness, suspicion
// confirmations, nacks) stays on.
func DefaultConfig() *Config {
	mc := memberlist.DefaultLANConfig()
	// The first probe of a dead member and its failure take about two
	// intervals, most of the detection time besides the suspicion. Ten
	// small packets a second per member cost nothing on a LAN.
	mc.ProbeInterval = 100 * time.Millisecond
	// A LAN round trip is well under a millisecond: 50 ms lets a busy
	// member answer the direct ping, and leaves half the interval for the
	// indirect and TCP probes that start when it does not.
	mc.ProbeTimeout = 50 * time.Millisecond
	// memberlist's default: three other members vouch for a member whose
	// direct ack was lost, so one lossy path does not start a suspicion.
	mc.IndirectChecks = 3
	// A suspicion lasts 3 * log10(n) intervals, 0.5 s at 50 members (0.3 s
	// up to 10): far longer than a running member needs to hear of it and
	// refute, well inside the 1.5 s budget. It wants one confirmation
	// (SuspicionMult - 2) before it runs that short.
	mc.SuspicionMult = 3
	// An unconfirmed suspicion (one prober alone, perhaps slow itself) lasts
	// twice as long, 1 s at 50 members. A member that is really gone is
	// probed by another within about two intervals, which confirms it.
	mc.SuspicionMaxTimeoutMult = 2
	// Suspect, dead and alive notices reach all of 50 members in about
	// log4(50) rounds, 150 ms at 50 ms a round. A round with nothing queued
	// sends nothing.
	mc.GossipInterval = 50 * time.Millisecond
	// memberlist's default fan-out: with 50 ms rounds it spreads fast
	// enough, and more only adds packets.
	mc.GossipNodes = 3
	// Each member passes a notice on 6 * ceil(log10(n+1)) times (12 up to
	// 99 members), not memberlist's 4 *: with 8 sends, one of 49 members
	// misses a given notice about once in 3,600 (e^-8), so about one
	// restart in 70 at 50 members went unseen somewhere until the next
	// push/pull, 30 s later; a proxy that misses a join routes the new
	// node's chats as those of an unknown home. With 12, once in 200,000.
	mc.RetransmitMult = 6
	// Lifeguard: a member that is itself slow stretches its own probe
	// timeouts up to 8x instead of accusing healthy peers.
	mc.AwarenessMaxMultiplier = 8
	// Joins and push/pull over a LAN take milliseconds; 5 s still allows a
	// busy peer.
	mc.TCPTimeout = 5 * time.Second
	// Full state sync every 15 s repairs anything gossip missed.
	mc.PushPullInterval = 15 * time.Second
	// No compression: memberlist would LZW-compress every packet, pings and
	// acks of a few dozen bytes included, with a new 64 KiB table each
	// time. An idle member then spent a tenth of its CPU compressing and
	// half of what it allocated (3 MB/s at 20 members) on those tables, and
	// the garbage collector ran every second or so to free them. Gossip on a
	// LAN has bandwidth to spare; members still read compressed packets,
	// so a cluster can mix versions during an upgrade.
	mc.EnableCompression = false
	// A node restarted under a new address (a new pod) may rejoin 3 s after
	// it was declared dead; memberlist's default (0) keeps it out until its
	// dead entry is forgotten.
	mc.DeadNodeReclaimTime = 3 * time.Second
	return &Config{
		BindAddr:          "0.0.0.0:7946",
		JoinAttempts:      5,                      // a peer that is restarting has ~5 s to come up
		JoinRetryInterval: time.Second,            // one try per second keeps the log readable
		UpdateTimeout:     2 * time.Second,        // a broadcast is done in a few GossipIntervals
		PublishInterval:   250 * time.Millisecond, // load spreads within a second; bursts cost 4 broadcasts a second
		MaxDeparted:       256,                    // a few KiB, enough for many restarts
		Logger:            slog.Default(),         // the process logger unless told otherwise
		Memberlist:        mc,                     // tuned above
		HealthInterval:    5 * time.Second,        // dashboards poll every few seconds; health moves slower
	}
}

// DefaultLocalConfig returns a Config for tests and laptops: members on one
// machine, bound to 127.0.0.1 with a free port, joining and syncing faster
// than DefaultConfig. It probes a little less often (150 ms), since many
// members then share one machine, often under the race detector; with the
// few members of a test it still sees a kill in well under a second.
func DefaultLocalConfig() *Config {
	c := DefaultConfig()
	c.BindAddr = "127.0.0.1:0"
	c.JoinAttempts = 3
	c.JoinRetryInterval = 100 * time.Millisecond
	c.UpdateTimeout = time.Second
	c.PublishInterval = 50 * time.Millisecond
	mc := c.Memberlist
	mc.ProbeInterval = 150 * time.Millisecond
	mc.ProbeTimeout = 75 * time.Millisecond
	mc.SuspicionMult = 3
	mc.SuspicionMaxTimeoutMult = 2
	mc.GossipInterval = 50 * time.Millisecond
	mc.TCPTimeout = time.Second
	mc.PushPullInterval = 5 * time.Second
	mc.DeadNodeReclaimTime = 500 * time.Millisecond
	mc.GossipToTheDeadTime = 5 * time.Second
	return c
}

// Validate reports the first field of c that New cannot use.
func (c *Config) Validate() error {
	for _, check := range []func() error{c.validateIdentity, c.validateAddrs, c.validateKnobs, c.validateMemberlist} {
		if err := check(); err != nil {
			return fmt.Errorf("invalid membership config: %w", err)
		}
	}
	return nil
}

func (c *Config) validateIdentity() error {
	switch {
	case c.Name == "":
		return errors.New("empty Name")
	case !c.Role.valid():
		return fmt.Errorf("Role %d is not a valid role", c.Role)
	case c.Incarnation == 0:
		return errors.New("zero Incarnation (each process start needs its own)")
	}
	return nil
}

func (c *Config) validateAddrs() error {
	if _, _, err := splitHostPort(c.BindAddr); err != nil { // port 0 picks a free one
		return fmt.Errorf("BindAddr %q: %w", c.BindAddr, err)
	}
	if err := checkHostPort("AdvertiseAddr", c.AdvertiseAddr, true); err != nil {
		return err
	}
	if host, _, _ := splitHostPort(c.AdvertiseAddr); c.AdvertiseAddr != "" && net.ParseIP(host) == nil {
		return fmt.Errorf("AdvertiseAddr %q: host is not an IP address", c.AdvertiseAddr)
	}
	if err := checkHostPort("APIAddr", c.APIAddr, true); err != nil {
		return err
	}
	if len(c.APIAddr) > MaxAPIAddrLen {
		return fmt.Errorf("APIAddr is longer than %d bytes", MaxAPIAddrLen)
	}
	for i, a := range c.Join {
		if err := checkHostPort(fmt.Sprintf("Join[%d]", i), a, false); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) validateKnobs() error {
	switch {
	case c.JoinAttempts < 1:
		return fmt.Errorf("JoinAttempts is %d, want at least 1", c.JoinAttempts)
	case c.JoinRetryInterval < 0:
		return fmt.Errorf("JoinRetryInterval is negative (%s)", c.JoinRetryInterval)
	case c.UpdateTimeout <= 0:
		return fmt.Errorf("UpdateTimeout is %s, want > 0", c.UpdateTimeout)
	case c.PublishInterval <= 0:
		return fmt.Errorf("PublishInterval is %s, want > 0", c.PublishInterval)
	case c.MaxDeparted < 0:
		return fmt.Errorf("MaxDeparted is %d, want >= 0", c.MaxDeparted)
	case c.HealthInterval < 0:
		return fmt.Errorf("HealthInterval is negative (%s)", c.HealthInterval)
	case c.Logger == nil:
		return errors.New("no Logger (nil)")
	}
	if len(c.AcceptKeys) > 0 && len(c.SecretKey) == 0 {
		return errors.New("AcceptKeys without a SecretKey")
	}
	if err := checkKey("SecretKey", c.SecretKey, true); err != nil {
		return err
	}
	for i, k := range c.AcceptKeys {
		if err := checkKey(fmt.Sprintf("AcceptKeys[%d]", i), k, false); err != nil {
			return err
		}
	}
	return nil
}

// checkKey reports whether key is an AES key; emptyOK allows none.
func checkKey(field string, key []byte, emptyOK bool) error {
	switch len(key) {
	case 16, 24, 32:
		return nil
	case 0:
		if emptyOK {
			return nil
		}
	}
	return fmt.Errorf("%s is %d bytes, want 16, 24 or 32", field, len(key))
}

func (c *Config) validateMemberlist() error {
	mc := c.Memberlist
	switch {
	case mc == nil:
		return errors.New("no Memberlist config (nil)")
	case mc.ProbeInterval <= 0 || mc.ProbeTimeout <= 0 || mc.ProbeTimeout >= mc.ProbeInterval:
		return fmt.Errorf("Memberlist.ProbeTimeout (%s) must be > 0 and below Memberlist.ProbeInterval (%s)", mc.ProbeTimeout, mc.ProbeInterval)
	case mc.GossipInterval <= 0:
		return fmt.Errorf("Memberlist.GossipInterval is %s, want > 0", mc.GossipInterval)
	case mc.SuspicionMult < 1:
		return fmt.Errorf("Memberlist.SuspicionMult is %d, want at least 1", mc.SuspicionMult)
	}
	return nil
}

// checkHostPort checks that s is host:port with a numeric port.
func checkHostPort(field, s string, emptyOK bool) error {
	if s == "" && emptyOK {
		return nil
	}
	_, port, err := splitHostPort(s)
	if err != nil {
		return fmt.Errorf("%s %q: %w", field, s, err)
	}
	if port == 0 {
		return fmt.Errorf("%s %q: port 0", field, s)
	}
	return nil
}

// splitHostPort splits "host:port" and parses the port.
func splitHostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return host, int(port), nil
}
