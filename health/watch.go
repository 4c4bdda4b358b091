// Package health watches whether a store can serve: a Watch runs the store's
// probe every interval, and soon after a request failed in a way that
// suggests an outage, and logs each change of status with a stable event
// code. Only probes change the status, so one failed request does not flap it,
// and a store that recovers is seen as available again whether or not
// anything else is written meanwhile.
//
// Goroutines: Run, one per Watch, until Close.
package health

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// Config configures a Watch.
type Config struct {
	// Name is the store's name in the log lines: "NAME status changed to UNAVAILABLE" (required).
	Name string
	// Probe checks the store; nil error means it can serve (required).
	Probe func(ctx context.Context) error
	// Interval is the time between probes (required, > 0).
	Interval time.Duration
	// Timeout bounds one probe (required, > 0).
	Timeout time.Duration
	// Logger receives the status changes (default slog.Default()).
	Logger *slog.Logger
	// EventUnavailable and EventAvailable are the event codes logged with the
	// changes; dashboards and alerts match on them.
	EventUnavailable, EventAvailable string
}

// Watch tracks whether a store is available. It starts as available.
type Watch struct {
	cfg       Config
	available atomic.Bool
	kick      chan struct{} // capacity 1: a pending request for a probe
	// life ends when Close is called; probes run under it, so Close cuts them short.
	life context.Context
	end  context.CancelFunc
	done chan struct{} // closed when Run returns
}

// New validates cfg and returns a watch that starts as available; run it with go w.Run().
func New(cfg Config) (*Watch, error) {
	switch {
	case cfg.Name == "" || cfg.Probe == nil:
		return nil, errors.New("health: Name and Probe are required")
	case cfg.Interval <= 0 || cfg.Timeout <= 0:
		return nil, errors.New("health: Interval and Timeout must be positive")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	life, end := context.WithCancel(context.Background())
	w := &Watch{cfg: cfg, kick: make(chan struct{}, 1), life: life, end: end, done: make(chan struct{})}
	w.available.Store(true)
	return w, nil
}

// Available reports whether the last probe succeeded.
func (w *Watch) Available() bool { return w.available.Load() }

// Run probes until Close is called.
func (w *Watch) Run() {
	defer close(w.done)
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-w.life.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
		w.check()
		w.pause()
	}
}

// check runs one probe and records its outcome, unless Close cut it short.
func (w *Watch) check() {
	ctx, cancel := context.WithTimeout(w.life, w.cfg.Timeout)
	defer cancel()
	err := w.cfg.Probe(ctx)
	// The probe's own failed tries asked for a probe: this one answers them.
	select {
	case <-w.kick:
	default:
	}
	if w.life.Err() != nil {
		return
	}
	w.set(err)
}

// pause spaces probes so that a burst of failing requests does not turn into a burst of
// probes: it waits a tenth of the interval, or until Close.
func (w *Watch) pause() {
	t := time.NewTimer(w.cfg.Interval / 10)
	defer t.Stop()
	select {
	case <-w.life.Done():
	case <-t.C:
	}
}

// set records the outcome of a probe and logs a change of status.
func (w *Watch) set(err error) {
	up := err == nil
	if w.available.Swap(up) == up {
		return
	}
	if up {
		w.cfg.Logger.Info(w.cfg.Name+" status changed to AVAILABLE", "event", w.cfg.EventAvailable)
		return
	}
	w.cfg.Logger.Error(w.cfg.Name+" status changed to UNAVAILABLE", "event", w.cfg.EventUnavailable, "error", err)
}

// Suspect asks for a probe soon, without waiting for it.
func (w *Watch) Suspect() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Close stops the watch and waits for Run to return; call it only after Run started.
func (w *Watch) Close() {
	w.end()
	<-w.done
}
