package cometd

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// Config configures a Server.
type Config struct {
	// REST serves the chat API v2 that every chat operation is translated
	// into: in a node its own handler, in a proxy its forwarding handler.
	// It is called in process, from the Server's goroutines. Required.
	REST fasthttp.RequestHandler
	// CORS is which web pages on other origins may use the endpoint from a
	// browser: the chat API's own policy (cors-allowed-origins), whose
	// decision (api.CORS.Allows) long-polling requests, file operations and
	// WebSocket upgrades all take. Requests without an Origin header and
	// same-origin requests are always allowed; nil allows no other origin.
	CORS *api.CORS

	// Timeout is how long a /meta/connect is held when nothing is queued: the
	// advice timeout (default 30s).
	Timeout time.Duration
	// Interval is the advice interval: the pause a client makes between two
	// connects (default 0).
	Interval time.Duration
	// MaxInterval is how long a session lives without a held connect after its
	// last connect ended (default 10s).
	MaxInterval time.Duration
	// SweepInterval is how often sessions are checked for expiry (default 1s).
	SweepInterval time.Duration
	// IdleTimeout closes a WebSocket that sends nothing this long (default 60s).
	IdleTimeout time.Duration
	// WriteTimeout bounds one write to a WebSocket (default 10s).
	WriteTimeout time.Duration

	// Wait is the X-Chatha-Wait a pump asks the REST refresh to hold for
	// until an event arrives (default 25s).
	Wait time.Duration
	// MinRefreshInterval is the least time between the starts of two
	// refreshes of a pump when the first delivered nothing, so that a REST
	// handler that does not hold refreshes is not called in a loop (default 1s).
	MinRefreshInterval time.Duration
	// RetryBackoff is a pump's first pause after a failed refresh; it doubles
	// up to MaxRetryBackoff (default 100ms).
	RetryBackoff time.Duration
	// MaxRetryBackoff is a pump's longest pause between failed refreshes (default 5s).
	MaxRetryBackoff time.Duration
	// PublishRetry is how long an operation whose REST call answers "retry"
	// (statusCode 1 or a 5xx) is sent again with the same request id (default 5s).
	PublishRetry time.Duration

	// MaxSessions is the most sessions the server holds; handshakes beyond it
	// are refused (default 100000).
	MaxSessions int
	// MaxChats is the most chats one session attaches to (default 8).
	MaxChats int
	// MaxQueue is the most messages queued for a session; a session whose
	// client does not take them is dropped (default 1000).
	MaxQueue int
	// MaxQueueBytes is the most bytes queued for a session (default 1 MiB).
	MaxQueueBytes int
	// MaxBodySize is the largest long-polling body or WebSocket message in
	// bytes (default 64 KiB).
	MaxBodySize int
	// MaxBatch is the most Bayeux messages in one body or WebSocket message (default 100).
	MaxBatch int
	// PublishRate is how many publishes per second a session may make on
	// average (default 10).
	PublishRate float64
	// PublishBurst is how many publishes a session may make at once (default 20).
	PublishBurst int
	// ReadBufferSize and WriteBufferSize are a WebSocket's I/O buffers in
	// bytes; the write buffer is taken from a pool only while writing
	// (default 1024 each).
	ReadBufferSize, WriteBufferSize int

	// Logger receives the server's logs (default slog.Default()).
	Logger *slog.Logger
	// Metrics receives the server's metrics (default a new set).
	Metrics *metrics.Set
	// Rand is the source of client ids and request ids (default crypto/rand.Reader).
	Rand io.Reader
}

// DefaultConfig returns a Config with every default filled in, serving the
// operations on rest.
func DefaultConfig(rest fasthttp.RequestHandler) Config {
	return Config{
		REST:               rest,
		Timeout:            30 * time.Second,       // the CometD default; below common proxy idle timeouts of 60s
		MaxInterval:        10 * time.Second,       // the CometD default: a reconnect takes well under that
		SweepInterval:      time.Second,            // expiry is ten seconds; one second is precise enough
		IdleTimeout:        time.Minute,            // a client sends a connect every Timeout
		WriteTimeout:       10 * time.Second,       // a client that cannot take a frame in 10s is gone
		Wait:               25 * time.Second,       // below Timeout, so a pump answers before a held connect ends
		MinRefreshInterval: time.Second,            // at most one empty refresh a second per chat
		RetryBackoff:       100 * time.Millisecond, // a proxy fails over in well under a second
		MaxRetryBackoff:    5 * time.Second,        // a cluster that is down is not hammered
		PublishRetry:       5 * time.Second,        // longer than a failover, shorter than a client's patience
		MaxSessions:        100000,                 // ten times the idle clients one server is sized for
		MaxChats:           8,                      // a widget has one chat; an agent desktop a few
		MaxQueue:           1000,                   // a client that is this far behind resumes by position
		MaxQueueBytes:      1 << 20,                // bounds a session's memory whatever its messages
		MaxBodySize:        64 << 10,               // a chat message is text; bigger bodies are abuse
		MaxBatch:           100,                    // the CometD client batches a handful
		PublishRate:        10,                     // a person types a few messages a second at most
		PublishBurst:       20,                     // typing notices and a message at once
		ReadBufferSize:     1024,                   // Bayeux frames are small; larger ones read in parts
		WriteBufferSize:    1024,                   // pooled, so idle sockets hold none
	}
}

// DefaultLocalConfig returns a Config for tests and laptops: any origin,
// short holds and quick expiry.
func DefaultLocalConfig(rest fasthttp.RequestHandler) Config {
	c := DefaultConfig(rest)
	c.CORS, _ = api.ParseCORS("*") // a valid list: no error
	c.Timeout = 5 * time.Second
	c.MaxInterval = 2 * time.Second
	c.SweepInterval = 100 * time.Millisecond
	c.Wait = 4 * time.Second
	c.MinRefreshInterval = 200 * time.Millisecond
	c.RetryBackoff = 20 * time.Millisecond
	c.MaxRetryBackoff = 500 * time.Millisecond
	c.PublishRetry = 2 * time.Second
	return c
}

// Validate reports the first field that is missing or out of range.
func (c Config) Validate() error {
	switch {
	case c.REST == nil:
		return errors.New("cometd: REST is nil")
	case c.Timeout <= 0 || c.MaxInterval <= 0 || c.SweepInterval <= 0 || c.IdleTimeout <= 0 || c.WriteTimeout <= 0:
		return errors.New("cometd: Timeout, MaxInterval, SweepInterval, IdleTimeout and WriteTimeout must be positive")
	case c.Interval < 0:
		return errors.New("cometd: Interval is negative")
	case c.IdleTimeout <= c.Timeout:
		return fmt.Errorf("cometd: IdleTimeout (%v) must exceed Timeout (%v), or idle WebSockets are closed while their connect is held", c.IdleTimeout, c.Timeout)
	case c.Wait < 0 || c.MinRefreshInterval <= 0 || c.RetryBackoff <= 0 || c.MaxRetryBackoff < c.RetryBackoff || c.PublishRetry < 0:
		return errors.New("cometd: Wait and PublishRetry must not be negative, MinRefreshInterval and RetryBackoff must be positive, MaxRetryBackoff at least RetryBackoff")
	case c.MaxSessions < 1 || c.MaxChats < 1 || c.MaxQueue < 1 || c.MaxBatch < 1 || c.PublishBurst < 1:
		return errors.New("cometd: MaxSessions, MaxChats, MaxQueue, MaxBatch and PublishBurst must be at least 1")
	case c.MaxQueueBytes < 1024 || c.MaxBodySize < 1024:
		return errors.New("cometd: MaxQueueBytes and MaxBodySize must be at least 1024")
	case c.PublishRate <= 0:
		return errors.New("cometd: PublishRate must be positive")
	case c.ReadBufferSize < 0 || c.WriteBufferSize < 0:
		return errors.New("cometd: ReadBufferSize and WriteBufferSize must not be negative")
	}
	return nil
}

func (c *Config) fillDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = metrics.NewSet()
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
}
