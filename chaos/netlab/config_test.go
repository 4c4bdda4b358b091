package netlab

import (
	"net/netip"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // "" for valid
	}{
		{"default", func(*Config) {}, ""},
		{"explicit subnet", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.213.9.0/24") }, ""},
		{"no members", func(c *Config) { c.Members = nil }, "Members"},
		{"upper case", func(c *Config) { c.Members = []string{"Node1"} }, "Node1"},
		{"too long", func(c *Config) { c.Members = []string{strings.Repeat("n", 33)} }, "32"},
		{"leading dash", func(c *Config) { c.Members = []string{"-n"} }, "-n"},
		{"slash", func(c *Config) { c.Members = []string{"a/b"} }, "a/b"},
		{"twice", func(c *Config) { c.Members = []string{"a", "a"} }, "twice"},
		{"too many", func(c *Config) { c.Members = make([]string, 251) }, "250"},
		{"ipv6 subnet", func(c *Config) { c.Subnet = netip.MustParsePrefix("fd00::/120") }, "Subnet"},
		{"not a /24", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.213.0.0/16") }, "Subnet"},
		{"host bits set", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.213.9.1/24") }, "Subnet"},
		{"no ip", func(c *Config) { c.IP = "" }, "IP"},
		{"no timeout", func(c *Config) { c.CommandTimeout = 0 }, "CommandTimeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.change(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestRoutePrefix(t *testing.T) {
	tests := []struct {
		line string
		want string // "" for no prefix
	}{
		{"default via 192.0.2.1 dev eth0", ""},
		{"192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2", "192.0.2.0/24"},
		{"local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1", "127.0.0.1/32"},
		{"broadcast 10.213.4.255 dev chl1 table local proto kernel scope link src 10.213.4.254", "10.213.4.255/32"},
		{"blackhole 10.0.0.0/8", "10.0.0.0/8"},
		{"", ""},
	}
	for _, tc := range tests {
		p, ok := routePrefix(strings.Fields(tc.line))
		got := ""
		if ok {
			got = p.String()
		}
		if got != tc.want {
			t.Errorf("routePrefix(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestRandomSubnetAvoidsUsed(t *testing.T) {
	var used []netip.Prefix
	for b := range 255 {
		used = append(used, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, byte(b), 0}), 24))
	}
	for range 20 {
		if got := randomSubnet(used); got != netip.MustParsePrefix("10.213.255.0/24") {
			t.Fatalf("randomSubnet = %v, want the only free /24", got)
		}
	}
	if got := randomSubnet([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}); got.IsValid() {
		t.Errorf("randomSubnet with the whole range used = %v, want none", got)
	}
}
