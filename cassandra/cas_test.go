package cassandra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

// casOutcome is what one attempt of a fake LWT returns.
type casOutcome struct {
	applied, ours bool
	err           error
}

// requestErr is an error Cassandra answered with, by code.
type requestErr int

func (e requestErr) Code() int       { return int(e) }
func (e requestErr) Message() string { return "fake" }
func (e requestErr) Error() string   { return fmt.Sprintf("fake request error %#x", int(e)) }

// casStore returns a store with no connection, enough to run cas and retry.
func casStore(retries int) *Store {
	cfg := DefaultConfig()
	cfg.CASRetries = retries
	logger := slog.New(slog.DiscardHandler)
	w, err := newWatch(func(context.Context) error { return nil }, cfg, logger)
	if err != nil {
		panic("BUG: the default config makes no watch: " + err.Error())
	}
	return &Store{cfg: cfg, logger: logger, watch: w}
}

// script returns an LWT that plays outcomes in turn and counts its attempts.
func script(attempts *int, outcomes ...casOutcome) casFunc {
	return func(context.Context) (bool, bool, error) {
		o := outcomes[*attempts]
		*attempts++
		return o.applied, o.ours, o.err
	}
}

func TestCAS(t *testing.T) {
	timeout := requestErr(gocql.ErrCodeWriteTimeout)
	invalid := requestErr(gocql.ErrCodeInvalid)
	for _, tc := range []struct {
		name       string
		retries    int
		outcomes   []casOutcome
		want       error // nil, errNotApplied, or the error of the last attempt
		attempts   int
		callerGone bool // the caller's context is canceled
	}{
		{"applied", 3, []casOutcome{{applied: true}}, nil, 1, false},
		{"refused first try, even with our bytes", 3, []casOutcome{{ours: true}}, errNotApplied, 1, false},
		{"refused", 3, []casOutcome{{}}, errNotApplied, 1, false},
		{"timeout then applied", 3, []casOutcome{{err: timeout}, {applied: true}}, nil, 2, false},
		{"timeout then our own rows", 3, []casOutcome{{err: timeout}, {ours: true}}, nil, 2, false},
		{"timeout then other rows", 3, []casOutcome{{err: timeout}, {}}, errNotApplied, 2, false},
		{"lost connection then our rows", 3, []casOutcome{{err: gocql.ErrConnectionClosed}, {ours: true}}, nil, 2, false},
		{"timeouts exhaust retries", 2, []casOutcome{{err: timeout}, {err: timeout}, {err: timeout}}, timeout, 3, false},
		{"invalid request is not retried", 3, []casOutcome{{err: invalid}}, invalid, 1, false},
		{"driver cut it short then our rows", 3, []casOutcome{{err: context.Canceled}, {ours: true}}, nil, 2, false},
		{"driver cut it short then other rows", 3, []casOutcome{{err: context.Canceled}, {}}, errNotApplied, 2, false},
		{"caller gave up", 3, []casOutcome{{err: context.Canceled}}, context.Canceled, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := casStore(tc.retries)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.callerGone {
				cancel()
			}
			attempts := 0
			err := s.cas(ctx, script(&attempts, tc.outcomes...))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("cas = %v, want %v", err, tc.want)
			}
			if attempts != tc.attempts {
				t.Fatalf("%d attempts, want %d", attempts, tc.attempts)
			}
		})
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	s := casStore(100)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	attempts := 0
	err := s.retry(ctx, func(context.Context) error {
		attempts++
		return gocql.ErrNoConnections
	})
	if !errors.Is(err, gocql.ErrNoConnections) || attempts > 5 {
		t.Fatalf("retry = %v after %d attempts, want ErrNoConnections within a few", err, attempts)
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for i, w := range want {
		if got := backoff(i); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i, got, w)
		}
	}
}
