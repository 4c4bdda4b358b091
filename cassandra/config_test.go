package cassandra

import (
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

func TestDefaultConfigsAreValid(t *testing.T) {
	for name, c := range map[string]Config{"DefaultConfig": DefaultConfig(), "DefaultLocalConfig": DefaultLocalConfig()} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"Hosts", func(c *Config) { c.Hosts = nil }},
		{"host", func(c *Config) { c.Hosts = []string{"a b"} }},
		{"Port", func(c *Config) { c.Port = 70000 }},
		{"Keyspace", func(c *Config) { c.Keyspace = "1abc" }},
		{"LocalDC", func(c *Config) { c.LocalDC = "dc'" }},
		{"Consistency", func(c *Config) { c.Consistency = gocql.Any }},
		{"SerialConsistency", func(c *Config) { c.SerialConsistency = 0 }},
		{"Username", func(c *Config) { c.Username = "u" }},
		{"TLSCertFile", func(c *Config) { c.TLS, c.TLSCertFile = true, "c.pem" }},
		{"TLS is off", func(c *Config) { c.TLSCAFile = "ca.pem" }},
		{"ConnectTimeout", func(c *Config) { c.ConnectTimeout = 0 }},
		{"RequestTimeout", func(c *Config) { c.RequestTimeout = -time.Second }},
		{"ReconnectInterval", func(c *Config) { c.ReconnectInterval = 0 }},
		{"ProbeInterval", func(c *Config) { c.ProbeInterval = 0 }},
		{"CASRetries", func(c *Config) { c.CASRetries = -1 }},
		{"TTL", func(c *Config) { c.TTL = 0 }},
		{"Replication", func(c *Config) { c.Replication = "" }},
		{"LocalDC", func(c *Config) { c.CreateSchema, c.LocalDC = true, "dc9" }},
	} {
		c := DefaultConfig()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: Validate() = %v, want an error naming %s", tc.field, err, tc.field)
		}
	}
}
