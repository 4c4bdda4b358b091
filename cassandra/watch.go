package cassandra

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Stable event codes of the availability log lines; dashboards and alerts match on them.
const (
	// EventUnavailable is logged with "cassandra status changed to UNAVAILABLE".
	EventUnavailable = "CHATHA-CASS-001"
	// EventAvailable is logged with "cassandra status changed to AVAILABLE".
	EventAvailable = "CHATHA-CASS-002"
)

// watch tracks whether Cassandra can serve chatha: a probe runs every interval, and soon
// after a request failed in a way that suggests an outage. Only probes change the status,
// so one timed-out request does not flap it.
type watch struct {
	probe    func(ctx context.Context) error
	interval time.Duration
	timeout  time.Duration
	logger   *slog.Logger

	available atomic.Bool
	kick      chan struct{} // capacity 1: a pending request for a probe
	// life ends when close is called; probes run under it, so close cuts them short.
	life context.Context
	end  context.CancelFunc
	done chan struct{} // closed when run returns
}

// newWatch returns a watch that starts as available; run it with go w.run().
func newWatch(probe func(context.Context) error, interval, timeout time.Duration, logger *slog.Logger) *watch {
	life, end := context.WithCancel(context.Background())
	w := &watch{
		probe: probe, interval: interval, timeout: timeout, logger: logger,
		kick: make(chan struct{}, 1), life: life, end: end, done: make(chan struct{}),
	}
	w.available.Store(true)
	return w
}

// run probes until close is called.
func (w *watch) run() {
	defer close(w.done)
	t := time.NewTicker(w.interval)
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

// check runs one probe and records its outcome, unless close cut it short.
func (w *watch) check() {
	ctx, cancel := context.WithTimeout(w.life, w.timeout)
	defer cancel()
	err := w.probe(ctx)
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
// probes: it waits a tenth of the interval, or until close.
func (w *watch) pause() { _ = wait(w.life, w.interval/10) }

// set records the outcome of a probe and logs a change of status.
func (w *watch) set(err error) {
	up := err == nil
	if w.available.Swap(up) == up {
		return
	}
	if up {
		w.logger.Info("cassandra status changed to AVAILABLE", "event", EventAvailable)
		return
	}
	w.logger.Error("cassandra status changed to UNAVAILABLE", "event", EventUnavailable, "error", err)
}

// suspect asks for a probe soon, without waiting for it.
func (w *watch) suspect() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// close stops the watch and waits for its goroutine.
func (w *watch) close() {
	w.end()
	<-w.done
}
