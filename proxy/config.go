package proxy

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/cometd"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/proxy/ring"
)

// Config configures a Proxy.
type Config struct {
	// Name is the proxy's name, for logs and the dashboard.
	Name string
	// Views returns the current membership view. Required.
	Views func() *membership.View
	// ClusterToken is sent to nodes' admin endpoints and guards the proxy's own.
	ClusterToken string
	// AgentToken guards the agent API (everything under /agent/) and is what
	// the proxy sends nodes when it merges their queues; empty leaves it open.
	AgentToken string
	// TLS, when set, makes every call to a node https: the node's certificate
	// is verified against TLS.RootCAs, and TLS.Certificates (if any) is
	// presented for mutual TLS. Nil calls nodes over plain HTTP.
	TLS *tls.Config
	// BrokenFor is how long a node that failed a request or a probe is avoided (default 3s).
	BrokenFor time.Duration
	// RequestTimeout bounds one forwarded request (default 3s).
	RequestTimeout time.Duration
	// DialTimeout bounds connecting to a node (default 500ms).
	DialTimeout time.Duration
	// IdleConnTimeout is how long a connection to a node may stay idle
	// before the proxy closes it (default 1m). The newest idle connection is
	// reused first, so the ones a burst opened go once it is over.
	IdleConnTimeout time.Duration
	// MaxConns is the most connections to one node process for requests
	// that are not held for push (default 4096). A request past it is
	// answered 503 (api.Busy), and the node is not taken for failed.
	MaxConns int
	// MaxHeldConns is the most refreshes held for push (cometd.WaitHeader)
	// sent to one node process at once (default 16384). Each is held on a
	// connection of its own for up to its wait, from a pool apart from
	// MaxConns's, so held refreshes never take the connections other
	// requests need. A held refresh past it is sent without its wait: the
	// node answers it at once, and its pump asks again after its
	// MinRefreshInterval, polling until held connections free up.
	MaxHeldConns int
	// Attempts is how many nodes one request may be tried on (default 3).
	Attempts int
	// ProbeInterval is how often every node's /readyz is probed (default 1s; 0 turns probes off).
	ProbeInterval time.Duration
	// ProbeTimeout bounds one probe (default 500ms).
	ProbeTimeout time.Duration
	// MaxBodySize is the largest request body forwarded (default 64 KiB), but
	// for an upload.
	MaxBodySize int
	// MaxUploadBody is the largest body of a file upload forwarded: the
	// nodes' upload-max-file-size and room for the fields (default 10 MiB + 64 KiB).
	MaxUploadBody int
	// CORS is which web pages on other origins may call the chat and agent
	// APIs from a browser (cors-allowed-origins); nil allows none. The proxy
	// applies it itself: it answers preflights and refuses other origins
	// without asking a node, and sends nodes no Origin.
	CORS *api.CORS
	// MaxResponseSize is the largest node answer passed on (default 64 MiB);
	// a larger one fails its request with a 502, never the node.
	MaxResponseSize int
	// MaxHeaderSize bounds the headers of a request, and of a node's answer
	// (default 20 KiB).
	MaxHeaderSize int
	// MaxWait is the longest wait (cometd.WaitHeader) a forwarded refresh is
	// given on top of RequestTimeout while a node holds it (default 30s).
	MaxWait time.Duration
	// CometD configures the proxy's CometD server (cometd.Path, and
	// api.ChatNtfPath for file operations); its REST side is the proxy's
	// forwarding, and its CORS policy, Logger and Metrics the proxy's own.
	CometD cometd.Config
	// Placement tunes load-aware placement of new chats.
	Placement ring.Options
	// Logger receives the proxy's logs (default slog.Default()).
	Logger *slog.Logger
	// Metrics receives the proxy's metrics (default a new set).
	Metrics *metrics.Set
	// Probes returns the gossip member's own probes of the others, for the
	// dashboard and chatha_proxy_probe_rtt_seconds (membership.Member.Probes);
	// nil shows none.
	Probes func() map[string]membership.Probe
	// SampleInterval is how often the dashboard's history takes a sample
	// of the counters (default 5s; 0 keeps no history).
	SampleInterval time.Duration
	// HistoryWindow is how far back the dashboard's history goes (default 15m).
	HistoryWindow time.Duration
}

// DefaultConfig returns the production defaults for a proxy reading views.
func DefaultConfig(name string, views func() *membership.View) Config {
	return Config{
		Name:           name,
		Views:          views,
		BrokenFor:      3 * time.Second,        // longer than gossip takes to declare a killed node dead
		RequestTimeout: 3 * time.Second,        // a node answers in milliseconds; a stalled one is failed over
		DialTimeout:    500 * time.Millisecond, // loopback and LAN connect in under a millisecond
		Attempts:       3,                      // the home, its successor, and one more
		MaxConns:       4096,                   // far above what requests answered in milliseconds need
		MaxHeldConns:   16384,                  // one CometD client's chat each: 10,000 clients on one node fit with room
		ProbeInterval:  time.Second,            // catches a node that gossips but cannot serve
		ProbeTimeout:   500 * time.Millisecond,
		MaxBodySize:    64 << 10,                    // the node's own limit
		MaxUploadBody:  10<<20 + api.UploadOverhead, // the node's default upload-max-file-size and its fields
		// A node pages its answers at 1 MiB of events (one larger event goes
		// alone), so 64 MiB is far above any answer of a healthy node.
		MaxResponseSize: 64 << 20,
		MaxHeaderSize:   20 << 10,         // a 16 KiB Cookie and the usual headers; each open connection keeps a buffer this size
		MaxWait:         30 * time.Second, // a node holds a refresh at most as long (its own MaxWait)
		CometD:          cometd.DefaultConfig(nil),
		Placement:       ring.DefaultOptions(),
		SampleInterval:  5 * time.Second,  // charts of minutes need no finer grain; each sample asks every node its KPIs
		HistoryWindow:   15 * time.Minute, // what an operator looks back on during an incident
		// Under the nodes' 2-minute idle timeout, so the proxy closes first
		// and never sends on a connection the node is closing.
		IdleConnTimeout: time.Minute,
	}
}

// Validate reports the first field that is missing or out of range.
func (c Config) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("proxy: Name is empty")
	case c.Views == nil:
		return errors.New("proxy: Views is nil")
	case c.BrokenFor <= 0 || c.RequestTimeout <= 0 || c.DialTimeout <= 0 || c.IdleConnTimeout <= 0:
		return errors.New("proxy: BrokenFor, RequestTimeout, DialTimeout and IdleConnTimeout must be positive")
	case c.Attempts < 1:
		return errors.New("proxy: Attempts must be at least 1")
	case c.MaxConns < 1 || c.MaxHeldConns < 1:
		return errors.New("proxy: MaxConns and MaxHeldConns must be at least 1")
	case c.ProbeInterval < 0 || c.ProbeTimeout <= 0:
		return errors.New("proxy: ProbeInterval must not be negative and ProbeTimeout must be positive")
	case c.MaxBodySize < 1024:
		return errors.New("proxy: MaxBodySize must be at least 1024")
	case c.MaxUploadBody < c.MaxBodySize:
		return errors.New("proxy: MaxUploadBody must be at least MaxBodySize")
	case c.MaxResponseSize < 1<<20:
		return errors.New("proxy: MaxResponseSize must be at least 1 MiB")
	case c.MaxHeaderSize < 4096:
		return errors.New("proxy: MaxHeaderSize must be at least 4096")
	case c.SampleInterval < 0 || c.HistoryWindow < 0:
		return errors.New("proxy: SampleInterval and HistoryWindow must not be negative")
	case c.MaxWait < 0:
		return errors.New("proxy: MaxWait is negative")
	}
	return c.Placement.Validate()
}

func (c *Config) fillDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = metrics.NewSet()
	}
}

// scheme is how the proxy calls nodes: https with TLS, else http.
func (c *Config) scheme() string {
	if c.TLS != nil {
		return "https"
	}
	return "http"
}
