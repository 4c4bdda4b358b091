package archive

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/chatha/chatha/chat"
)

// MinSecret is the shortest signing secret, in bytes.
const MinSecret = 16

// Config configures a Deliverer.
type Config struct {
	// URL receives every final transcript (transcript-webhook-url): https, or
	// http to a loopback address unless AllowHTTP. Required.
	URL string
	// Secret signs every delivery (transcript-webhook-secret), MinSecret bytes
	// or more; it is never sent. Required.
	Secret []byte
	// AllowHTTP allows a plain http URL to any host (default false).
	AllowHTTP bool
	// Outbox is the store's outbox, shared by every node. Required.
	Outbox chat.Outbox
	// Name is the node's name, in lease tokens, logs and X-Chatha-Node. Required.
	Name string
	// Timeout bounds one delivery attempt, connection to answer (default 10s).
	Timeout time.Duration
	// Lease is how long an attempt holds its entry; past it any deliverer
	// may take the entry again (default 2 * Timeout + StoreTimeout).
	Lease time.Duration
	// PollInterval is how often the outbox is read when nothing kicks the
	// deliverer (default 2s).
	PollInterval time.Duration
	// Batch is the most entries one read of the outbox takes on (default 32).
	Batch int
	// Workers is the most deliveries under way at once (default 4).
	Workers int
	// MinBackoff is the wait after a first failed attempt; it doubles with
	// each failure (default 1s).
	MinBackoff time.Duration
	// MaxBackoff bounds the wait between attempts (default 10m). Each wait
	// is a random half to all of its value (jitter).
	MaxBackoff time.Duration
	// StoreTimeout bounds each call to the outbox (default 5s).
	StoreTimeout time.Duration
	// Client sends the requests (default: Timeout, no redirects followed, TLS 1.2 or later).
	Client *http.Client
	// Logger receives the deliverer's logs (default slog.Default()).
	Logger *slog.Logger
	// Metrics receives the deliverer's metrics (default a new set).
	Metrics *metrics.Set
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// DefaultConfig returns the defaults for delivering to url, signed with
// secret, from outbox, on the node called name.
func DefaultConfig(name, url string, secret []byte, outbox chat.Outbox) Config {
	return Config{
		URL: url, Secret: secret, Outbox: outbox, Name: name,
		Timeout:      10 * time.Second, // a receiver that stores a document answers in well under a second
		PollInterval: 2 * time.Second,  // a kick delivers at once; polling finds other nodes' and retried entries
		Batch:        32,               // bounds the entries one round leases
		Workers:      4,                // a receiver is one service: a few requests at once
		MinBackoff:   time.Second,      // rides out a receiver's restart
		MaxBackoff:   10 * time.Minute, // an outage of hours costs a few requests per entry per hour
		StoreTimeout: 5 * time.Second,
	}
}

// Validate reports the first field that is missing or out of range.
func (c Config) Validate() error {
	if err := CheckURL(c.URL, c.AllowHTTP); err != nil {
		return err
	}
	switch {
	case len(c.Secret) < MinSecret:
		return fmt.Errorf("archive: the webhook secret must be %d bytes or more", MinSecret)
	case c.Outbox == nil:
		return errors.New("archive: Outbox is nil")
	case c.Name == "":
		return errors.New("archive: Name is empty")
	case c.Timeout <= 0 || c.PollInterval <= 0 || c.StoreTimeout <= 0:
		return errors.New("archive: Timeout, PollInterval and StoreTimeout must be positive")
	case c.Lease != 0 && c.Lease <= c.Timeout+c.StoreTimeout:
		return errors.New("archive: Lease must be longer than Timeout and StoreTimeout together")
	case c.Batch < 1 || c.Workers < 1:
		return errors.New("archive: Batch and Workers must be at least 1")
	case c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff:
		return errors.New("archive: MinBackoff must be positive and MaxBackoff at least MinBackoff")
	}
	return nil
}

// CheckURL reports whether raw can be the webhook URL: an absolute https
// URL, or http to a loopback host (127.0.0.0/8, ::1, localhost) or, with
// allowHTTP, to any host; no user name or password in it, which would end
// up in logs and proxies.
func CheckURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("archive: the webhook URL does not parse: %w", err)
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("archive: the webhook URL must be https:// (or http:// to a loopback address)")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("archive: the webhook URL has no host")
	case u.User != nil:
		return errors.New("archive: the webhook URL must not hold a user name or password (the signature authenticates the sender)")
	case u.Scheme == "http" && !allowHTTP && !loopback(u.Hostname()):
		return errors.New("archive: the webhook URL must be https:// unless it is on a loopback address (or allow http explicitly)")
	}
	return nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Redacted returns the URL as logs may show it: scheme, host and path, no query.
func Redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

func (c *Config) fillDefaults() {
	if c.Lease == 0 {
		c.Lease = 2*c.Timeout + c.StoreTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = metrics.NewSet()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Client == nil {
		c.Client = newClient(c.Timeout, c.Workers)
	}
}

// newClient returns the default HTTP client: one attempt within timeout, no
// redirect followed (a 3xx is a failed delivery), TLS 1.2 or later.
func newClient(timeout time.Duration, conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return &http.Client{
		Timeout:       timeout,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
