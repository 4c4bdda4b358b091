package health

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// lockedBuffer is a log sink the watch writes and the test reads.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// events returns "message event-code" of each status line, in order.
func (l *lockedBuffer) events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if _, msg, ok := strings.Cut(line, "msg=\""); ok {
			text, rest, _ := strings.Cut(msg, "\"")
			_, event, _ := strings.Cut(rest, "event=")
			event, _, _ = strings.Cut(event, " ")
			out = append(out, text+" "+event)
		}
	}
	return out
}

const (
	logDown = "store status changed to UNAVAILABLE STORE-DOWN"
	logUp   = "store status changed to AVAILABLE STORE-UP"
)

// newTestWatch returns a watch of probe named "store".
func newTestWatch(t *testing.T, probe func(context.Context) error, interval, timeout time.Duration, log *slog.Logger) *Watch {
	t.Helper()
	w, err := New(Config{Name: "store", Probe: probe, Interval: interval, Timeout: timeout, Logger: log,
		EventUnavailable: "STORE-DOWN", EventAvailable: "STORE-UP"})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWatchLogsStatusChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var down atomic.Bool
		probe := func(context.Context) error {
			if down.Load() {
				return errors.New("no hosts")
			}
			return nil
		}
		rec := &lockedBuffer{}
		w := newTestWatch(t, probe, time.Second, time.Second, slog.New(slog.NewTextHandler(rec, nil)))
		go w.Run()
		defer w.Close()

		time.Sleep(3 * time.Second) // fake time: three probes while up
		if !w.Available() || len(rec.events()) != 0 {
			t.Fatalf("while up: available=%v, logs %q", w.Available(), rec.events())
		}
		down.Store(true)
		w.Suspect() // a failed request: probed within a pause, not at the next tick
		time.Sleep(w.cfg.Interval / 5)
		synctest.Wait()
		if w.Available() {
			t.Fatal("still available after a failed probe")
		}
		time.Sleep(5 * time.Second)
		down.Store(false)
		time.Sleep(time.Second)
		synctest.Wait()
		if got := rec.events(); !w.Available() || len(got) != 2 || got[0] != logDown || got[1] != logUp {
			t.Fatalf("available=%v, logs %q; want one UNAVAILABLE then one AVAILABLE", w.Available(), got)
		}
	})
}

func TestWatchCloseCutsProbeShort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &lockedBuffer{}
		probe := func(ctx context.Context) error {
			<-ctx.Done() // a hung Cassandra
			return ctx.Err()
		}
		w := newTestWatch(t, probe, time.Second, time.Hour, slog.New(slog.NewTextHandler(rec, nil)))
		go w.Run()
		w.Suspect()
		synctest.Wait()
		w.Close() // returns although the probe would hang for an hour
		if !w.Available() || len(rec.events()) != 0 {
			t.Fatalf("close of a probing watch changed the status: %q", rec.events())
		}
	})
}
