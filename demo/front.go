package demo

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// Config is the front's configuration.
type Config struct {
	// Proxy is the host:port of the demo's proxy, which gets every request
	// not under /demo/ (required).
	Proxy string
	// Children are the demo's processes, as GET /demo/processes lists them;
	// the chat nodes among them can be killed (required).
	Children []*Child
	// KillWait is how long a kill request waits for the node to exit before
	// it answers (default 2s).
	KillWait time.Duration
	// Log gets a line for each kill (default: discarded).
	Log *slog.Logger
}

// DefaultConfig returns a Config with the defaults set; Proxy and Children
// are the caller's.
func DefaultConfig() Config {
	return Config{
		KillWait: 2 * time.Second, // a killed process is gone in milliseconds; the answer then says so
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// Validate reports the first field that is not usable.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Proxy); err != nil {
		return fmt.Errorf("demo: Proxy %q is not host:port: %w", c.Proxy, err)
	}
	if len(c.Children) == 0 {
		return errors.New("demo: Children is empty")
	}
	if c.KillWait <= 0 {
		return fmt.Errorf("demo: KillWait %v is not positive", c.KillWait)
	}
	if c.Log == nil {
		return errors.New("demo: Log is nil")
	}
	return nil
}

// Front is the demo's front door: the pages and the process endpoints under
// /demo/, and everything else forwarded to the demo's proxy.
type Front struct {
	cfg     Config
	forward *httputil.ReverseProxy
}

// New returns the front of cfg.
func New(cfg Config) (*Front, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	target := &url.URL{Scheme: "http", Host: cfg.Proxy}
	f := &Front{cfg: cfg}
	f.forward = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.SetXForwarded()
			r.Out.Host = r.In.Host
		},
		// Long polls and streams (CometD) go through as they come.
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			cfg.Log.Warn("the demo's proxy does not answer", "err", err)
			http.Error(w, "the demo's proxy does not answer", http.StatusBadGateway)
		},
	}
	return f, nil
}

// ServeHTTP serves /demo/ itself and forwards every other request.
func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/demo/processes" || strings.HasPrefix(p, "/demo/processes/"):
		f.serveProcesses(w, r, strings.TrimPrefix(p, "/demo/processes"))
	case p == "/demo" || strings.HasPrefix(p, "/demo/"):
		servePage(w, r, strings.TrimPrefix(p, "/demo"))
	default:
		f.forward.ServeHTTP(w, r)
	}
}
