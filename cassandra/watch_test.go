package cassandra

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is a slog handler that keeps every record.
type recorder struct {
	mu      sync.Mutex // guards records
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}

// events returns "message event-code" of each status record, in order.
func (r *recorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.records {
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "event" {
				out = append(out, rec.Message+" "+a.Value.String())
			}
			return true
		})
	}
	return out
}

const (
	logDown = "cassandra status changed to UNAVAILABLE " + EventUnavailable
	logUp   = "cassandra status changed to AVAILABLE " + EventAvailable
)

func TestWatchLogsStatusChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var down atomic.Bool
		probe := func(context.Context) error {
			if down.Load() {
				return errors.New("no hosts")
			}
			return nil
		}
		rec := &recorder{}
		w := newWatch(probe, time.Second, time.Second, slog.New(rec))
		go w.run()
		defer w.close()

		time.Sleep(3 * time.Second) // fake time: three probes while up
		if !w.available.Load() || len(rec.events()) != 0 {
			t.Fatalf("while up: available=%v, logs %q", w.available.Load(), rec.events())
		}
		down.Store(true)
		w.suspect() // a failed request: probed within a pause, not at the next tick
		time.Sleep(w.interval / 5)
		synctest.Wait()
		if w.available.Load() {
			t.Fatal("still available after a failed probe")
		}
		time.Sleep(5 * time.Second)
		down.Store(false)
		time.Sleep(time.Second)
		synctest.Wait()
		if got := rec.events(); !w.available.Load() || len(got) != 2 || got[0] != logDown || got[1] != logUp {
			t.Fatalf("available=%v, logs %q; want one UNAVAILABLE then one AVAILABLE", w.available.Load(), got)
		}
	})
}

func TestWatchCloseCutsProbeShort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		probe := func(ctx context.Context) error {
			<-ctx.Done() // a hung Cassandra
			return ctx.Err()
		}
		w := newWatch(probe, time.Second, time.Hour, slog.New(rec))
		go w.run()
		w.suspect()
		synctest.Wait()
		w.close() // returns although the probe would hang for an hour
		if !w.available.Load() || len(rec.events()) != 0 {
			t.Fatalf("close of a probing watch changed the status: %q", rec.events())
		}
	})
}
