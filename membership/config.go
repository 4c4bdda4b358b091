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

// DefaultConfig returns a Config tuned for a LAN: a killed member is
// declared dead in about 1.5-2 s (measured: see the package tests), while
// a member that stalls for up to a second is not.
//
// False positives cost more than slow detection here: a member declared
// dead by mistake gets its chats restored elsewhere and fenced off, while
// the proxy's passive detection already re-routes the requests of a killed
// node at once. Lifeguard (awareness, suspicion confirmations, nacks) stays on.
func DefaultConfig() *Config {
	mc := memberlist.DefaultLANConfig()
	// A LAN round trip is well under a millisecond, so probing 4x as often
	// as memberlist's LAN default (1s) costs a few small packets per second.
	mc.ProbeInterval = 250 * time.Millisecond
	// A missed direct ack only starts indirect and TCP probes (until the end
	// of ProbeInterval); 100 ms is 100x a LAN RTT and rides out short GC pauses.
	mc.ProbeTimeout = 100 * time.Millisecond
	// A suspect has SuspicionMult*ProbeInterval = 1 s (more past 10 members)
	// to refute: long enough for a busy node to get CPU and answer.
	mc.SuspicionMult = 4
	// Without peer confirmations Lifeguard starts the suspicion timer at 3x
	// the minimum (memberlist: 6x) and shortens it as peers confirm.
	mc.SuspicionMaxTimeoutMult = 3
	// Suspect and dead messages spread in ~2 hops of 100 ms each.
	mc.GossipInterval = 100 * time.Millisecond
	// Lifeguard: a member that is itself slow stretches its own probe
	// timeouts up to 8x instead of accusing healthy peers.
	mc.AwarenessMaxMultiplier = 8
	// Joins and push/pull over a LAN take milliseconds; 5 s still allows a
	// busy peer.
	mc.TCPTimeout = 5 * time.Second
	// Full state sync every 15 s repairs anything gossip missed.
	mc.PushPullInterval = 15 * time.Second
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
// machine, bound to 127.0.0.1 with a free port, detecting failures about
// twice as fast as DefaultConfig.
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
