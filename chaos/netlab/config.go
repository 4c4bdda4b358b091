package netlab

import (
	"fmt"
	"net/netip"
	"regexp"
	"time"
)

// Config describes a lab.
type Config struct {
	// Members names the lab's namespaces, one per member ("node1",
	// "proxy1"): 1 to 250 distinct names of lower-case letters, digits and
	// dashes, at most 32 characters each.
	Members []string
	// Subnet is the lab's IPv4 /24; the zero value picks one in
	// 10.213.0.0/16 that overlaps no route of the host. Member i gets
	// address .i+1, the host link .254.
	Subnet netip.Prefix
	// HostLink connects the host to the lab's bridge, so processes outside
	// the namespaces reach the members.
	HostLink bool
	// IP is the ip command of iproute2, a name looked up in PATH or a path.
	IP string
	// CommandTimeout bounds each ip command the lab runs.
	CommandTimeout time.Duration
}

// DefaultConfig returns a lab of three members reachable from the host.
func DefaultConfig() Config {
	return Config{
		Members:        []string{"m1", "m2", "m3"}, // the smallest cluster with a majority left after a partition
		HostLink:       true,                       // tests usually talk to the members from their own process
		IP:             "ip",                       // iproute2 from PATH
		CommandTimeout: 10 * time.Second,           // ip answers in milliseconds; this only stops a hung one
	}
}

var memberName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// Validate reports the first bad field of c.
func (c Config) Validate() error {
	if len(c.Members) == 0 || len(c.Members) > 250 {
		return fmt.Errorf("netlab: Members must hold 1 to 250 names, not %d", len(c.Members))
	}
	seen := map[string]bool{}
	for _, m := range c.Members {
		if !memberName.MatchString(m) {
			return fmt.Errorf("netlab: Members: %q is not 1 to 32 lower-case letters, digits and dashes", m)
		}
		if seen[m] {
			return fmt.Errorf("netlab: Members: %q appears twice", m)
		}
		seen[m] = true
	}
	if c.Subnet.IsValid() && (!c.Subnet.Addr().Is4() || c.Subnet.Bits() != 24 || c.Subnet.Masked() != c.Subnet) {
		return fmt.Errorf("netlab: Subnet must be an IPv4 /24 network such as 10.213.7.0/24, not %v", c.Subnet)
	}
	if c.IP == "" {
		return fmt.Errorf("netlab: IP must name the ip command")
	}
	if c.CommandTimeout <= 0 {
		return fmt.Errorf("netlab: CommandTimeout must be positive, not %v", c.CommandTimeout)
	}
	return nil
}
