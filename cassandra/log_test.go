package cassandra

import (
	"context"
	"log/slog"
	"sync"
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

// The status lines of the availability watch, with their event codes.
const (
	logDown = "cassandra status changed to UNAVAILABLE " + EventUnavailable
	logUp   = "cassandra status changed to AVAILABLE " + EventAvailable
)

// messages returns the message of every record, in order.
func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.records))
	for i, rec := range r.records {
		out[i] = rec.Message
	}
	return out
}
