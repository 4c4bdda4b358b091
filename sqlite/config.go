package sqlite

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config configures a Store.
type Config struct {
	// Path is the database file; its folder is created if missing.
	Path string
	// Synchronous is SQLite's synchronous pragma: FULL or NORMAL (default FULL).
	Synchronous string
	// BusyTimeout is how long a write waits for another process's lock (default 5s).
	BusyTimeout time.Duration
	// TTL is how long intermediate rows live after their last write (default 24h).
	TTL time.Duration
	// MaxBatch caps the writes grouped into one transaction (default 256).
	MaxBatch int
	// SweepInterval is how often expired rows are deleted (default 1m).
	SweepInterval time.Duration
	// ProbeInterval is how often a probe write checks that the database can
	// be written (default 1s); a failed write asks for one at once.
	ProbeInterval time.Duration
	// Logger receives the availability changes (default slog.Default()).
	Logger *slog.Logger
}

// DefaultConfig returns the production defaults for the database at path.
func DefaultConfig(path string) Config {
	return Config{
		Path:          path,
		Synchronous:   "FULL",          // an acknowledged message survives a power cut
		BusyTimeout:   5 * time.Second, // longer than any batch another process holds the lock
		TTL:           24 * time.Hour,  // outlives any live chat; orphans clean themselves up
		MaxBatch:      256,             // bounds the latency one commit adds to its writers
		SweepInterval: time.Minute,     // expiry is coarse; sweeping often only costs locks
		ProbeInterval: time.Second,     // a full disk is seen within a second; one small commit a second is nothing
	}
}

// Validate reports the first field that is out of range.
func (c Config) Validate() error {
	switch {
	case c.Path == "":
		return errors.New("sqlite: Path is empty")
	case c.Synchronous != "FULL" && c.Synchronous != "NORMAL":
		return fmt.Errorf("sqlite: Synchronous is %q, want FULL or NORMAL", c.Synchronous)
	case c.BusyTimeout <= 0:
		return errors.New("sqlite: BusyTimeout must be positive")
	case c.TTL <= 0:
		return errors.New("sqlite: TTL must be positive")
	case c.MaxBatch < 1:
		return errors.New("sqlite: MaxBatch must be at least 1")
	case c.SweepInterval <= 0 || c.ProbeInterval <= 0:
		return errors.New("sqlite: SweepInterval and ProbeInterval must be positive")
	}
	return nil
}

// ParseURL reads a store URL of the form sqlite:PATH[?synchronous=NORMAL&ttl=24h].
func ParseURL(s string) (Config, error) {
	rest, ok := strings.CutPrefix(s, "sqlite:")
	if !ok {
		return Config{}, fmt.Errorf("store URL %q does not start with \"sqlite:\"", s)
	}
	path, query, _ := strings.Cut(rest, "?")
	cfg := DefaultConfig(path)
	q, err := url.ParseQuery(query)
	if err != nil {
		return Config{}, fmt.Errorf("cannot parse options of store URL %q: %w", s, err)
	}
	for k, vs := range q {
		if err := cfg.set(k, vs[len(vs)-1]); err != nil {
			return Config{}, fmt.Errorf("store URL %q: %w", s, err)
		}
	}
	return cfg, cfg.Validate()
}

func (c *Config) set(key, v string) error {
	var err error
	switch key {
	case "synchronous":
		c.Synchronous = strings.ToUpper(v)
	case "busy-timeout":
		c.BusyTimeout, err = time.ParseDuration(v)
	case "ttl":
		c.TTL, err = time.ParseDuration(v)
	case "max-batch":
		c.MaxBatch, err = strconv.Atoi(v)
	case "probe-interval":
		c.ProbeInterval, err = time.ParseDuration(v)
	default:
		return fmt.Errorf("unknown option %q (want synchronous, busy-timeout, ttl, max-batch or probe-interval)", key)
	}
	if err != nil {
		return fmt.Errorf("option %s: %w", key, err)
	}
	return nil
}
