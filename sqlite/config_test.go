package sqlite

import (
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url  string
		want func(*Config)
		err  string // part of the error; "" for none
	}{
		{"sqlite:/data/chatha.db", func(*Config) {}, ""},
		{"sqlite:rel/c.db?synchronous=normal&ttl=1h&busy-timeout=2s&max-batch=10&probe-interval=200ms", func(c *Config) {
			c.Path, c.Synchronous, c.TTL, c.BusyTimeout, c.MaxBatch, c.ProbeInterval = "rel/c.db", "NORMAL", time.Hour, 2*time.Second, 10, 200*time.Millisecond
		}, ""},
		{"sqlite:/a.db?ttl=1h&ttl=2h", func(c *Config) { c.Path, c.TTL = "/a.db", 2*time.Hour }, ""},
		{"cassandra://h/ks", nil, `does not start with "sqlite:"`},
		{"sqlite:", nil, "Path is empty"},
		{"sqlite:/a.db?synchronous=OFF", nil, "Synchronous"},
		{"sqlite:/a.db?ttl=-1h", nil, "TTL"},
		{"sqlite:/a.db?ttl=soon", nil, "option ttl"},
		{"sqlite:/a.db?max-batch=0", nil, "MaxBatch"},
		{"sqlite:/a.db?probe-interval=0s", nil, "ProbeInterval"},
		{"sqlite:/a.db?cache=shared", nil, `unknown option "cache"`},
		{"sqlite:/a.db?%zz", nil, "cannot parse options"},
	}
	for _, tc := range tests {
		got, err := ParseURL(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURL(%q) error %v, want one saying %q", tc.url, err, tc.err)
			}
			continue
		}
		want := DefaultConfig("/data/chatha.db")
		tc.want(&want)
		if err != nil || got != want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.url, got, err, want)
		}
	}
}

// FuzzParseURL checks that ParseURL never panics, that what it accepts is
// valid, and that the path is the URL's text between "sqlite:" and the
// first "?", untouched.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"sqlite:./chatha-data/chatha.db",
		"sqlite:/d/c.db?synchronous=NORMAL&ttl=24h&busy-timeout=5s&probe-interval=1s&max-batch=256",
		"sqlite:c.db?ttl=1h&ttl=",
		"sqlite:?",
		"sqlite:c.db?%",
		"sqlite:c.db?max-batch=99999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseURL(s)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseURL(%q) accepted an invalid config: %v", s, err)
		}
		path, _, _ := strings.Cut(strings.TrimPrefix(s, "sqlite:"), "?")
		if c.Path != path {
			t.Fatalf("ParseURL(%q) has path %q, want %q", s, c.Path, path)
		}
	})
}
