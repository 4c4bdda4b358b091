package check

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Config tunes a check.
type Config struct {
	// Timeout bounds the linearizability search of one chat; a chat not
	// decided in time counts as unknown, not as a violation.
	Timeout time.Duration
	// Examples is how many findings of each violation kind the summary keeps.
	Examples int
	// PageSize is the largest number of transcript events one refresh answer
	// holds, 0 when answers are not paged. An answer holding that many may
	// have been cut, so it is checked as a prefix of the transcript only.
	PageSize int
	// Workers is how many chats are checked at once; 0 means GOMAXPROCS.
	Workers int
	// VisualizeDir, when set, receives porcupine's HTML view of each
	// non-linearizable chat as CHAT.html.
	VisualizeDir string
}

// DefaultConfig returns the configuration chaos runs use.
func DefaultConfig() Config {
	return Config{
		Timeout:  10 * time.Second, // a two-participant chat decides in milliseconds; this only stops a pathological search
		Examples: 5,                // enough to start debugging, short enough to read
		PageSize: 0,                // chat nodes answer a refresh with everything from its position
		Workers:  0,                // chats are independent: use every core
	}
}

// Validate reports the first bad field of c.
func (c Config) Validate() error {
	switch {
	case c.Timeout <= 0:
		return fmt.Errorf("check: Timeout must be positive, not %v", c.Timeout)
	case c.Examples < 0:
		return fmt.Errorf("check: Examples must not be negative, not %d", c.Examples)
	case c.PageSize < 0:
		return fmt.Errorf("check: PageSize must not be negative, not %d", c.PageSize)
	case c.Workers < 0:
		return fmt.Errorf("check: Workers must not be negative, not %d", c.Workers)
	}
	return nil
}

// Check checks every chat of h and returns the summary. It fails only when
// cfg or h is malformed; violations are in the summary (see Summary.Err).
func Check(h *History, cfg Config) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot check history: %w", err)
	}
	if h == nil {
		return nil, fmt.Errorf("cannot check history: %w: nil", ErrInvalidHistory)
	}
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("cannot check history: %w", err)
	}
	sum := newSummary()
	sum.Seed = h.Seed
	for _, f := range h.Faults {
		sum.Faults[f.Kind]++
	}
	for _, s := range auditAll(h.Chats, cfg) {
		sum.merge(s, cfg.Examples)
	}
	return sum, nil
}

// auditAll audits chats on cfg.Workers goroutines and returns their
// summaries in chat order, so reports do not depend on scheduling.
func auditAll(chats []Chat, cfg Config) []*Summary {
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]*Summary, len(chats))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(chats)) {
		wg.Go(func() {
			for i := range next {
				out[i] = auditChat(&chats[i], cfg)
			}
		})
	}
	for i := range chats {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}
