package membership

import (
	"strings"
	"testing"
)

func TestDefaultsAreValid(t *testing.T) {
	for name, c := range map[string]*Config{"DefaultConfig": DefaultConfig(), "DefaultLocalConfig": DefaultLocalConfig()} {
		c.Name, c.Role, c.Incarnation = "n1", RoleNode, 1
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateNamesTheField(t *testing.T) {
	for field, change := range map[string]func(*Config){
		"Name":                      func(c *Config) { c.Name = "" },
		"Role":                      func(c *Config) { c.Role = RoleUnknown },
		"Incarnation":               func(c *Config) { c.Incarnation = 0 },
		"BindAddr":                  func(c *Config) { c.BindAddr = "nohost" },
		"AdvertiseAddr":             func(c *Config) { c.AdvertiseAddr = "example.com:7946" },
		"APIAddr":                   func(c *Config) { c.APIAddr = "h:99999" },
		"Join[1]":                   func(c *Config) { c.Join = []string{"a:1", "b"} },
		"JoinAttempts":              func(c *Config) { c.JoinAttempts = 0 },
		"JoinRetryInterval":         func(c *Config) { c.JoinRetryInterval = -1 },
		"UpdateTimeout":             func(c *Config) { c.UpdateTimeout = 0 },
		"MaxDeparted":               func(c *Config) { c.MaxDeparted = -1 },
		"Logger":                    func(c *Config) { c.Logger = nil },
		"SecretKey":                 func(c *Config) { c.SecretKey = []byte("short") },
		"Memberlist ":               func(c *Config) { c.Memberlist = nil },
		"Memberlist.ProbeTimeout":   func(c *Config) { c.Memberlist.ProbeTimeout = c.Memberlist.ProbeInterval },
		"Memberlist.GossipInterval": func(c *Config) { c.Memberlist.GossipInterval = 0 },
		"Memberlist.SuspicionMult":  func(c *Config) { c.Memberlist.SuspicionMult = 0 },
	} {
		c := testConfig("n1")
		change(c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(field)) {
			t.Errorf("%s: Validate() = %v, want an error naming the field", field, err)
		}
		if m, err := New(c); err == nil {
			_ = m.Shutdown()
			t.Errorf("%s: New accepted an invalid config", field)
		}
	}
}
