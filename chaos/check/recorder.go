package check

import (
	"sync"
	"time"
)

// Recorder collects a History while a run goes on; every method is safe for
// concurrent use. Its clock is monotonic, with the origin at NewRecorder.
type Recorder struct {
	origin time.Time

	// mu guards h and chats.
	mu    sync.Mutex
	h     History
	chats map[string]int // chat id -> position in h.Chats
}

// NewRecorder returns an empty recorder for a run made from seed; its clock
// starts now.
func NewRecorder(seed int64) *Recorder {
	return &Recorder{origin: time.Now(), h: History{Seed: seed}, chats: make(map[string]int)}
}

// Now returns the nanoseconds since the recorder's origin, for Op.Call,
// Op.Return and Fault times.
func (r *Recorder) Now() int64 { return int64(time.Since(r.origin)) }

// Add records op of chat. The recorder keeps op.Events; the caller must not
// change them afterwards.
func (r *Recorder) Add(chat string, op Op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.chat(chat)
	c.Ops = append(c.Ops, op)
}

// Final records the final transcript of chat, read now.
func (r *Recorder) Final(chat string, events []Event) {
	at := r.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chat(chat).Final = &Transcript{At: at, Events: events}
}

// Fault records a fault injected into the run.
func (r *Recorder) Fault(f Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.h.Faults = append(r.h.Faults, f)
}

// History returns a copy of what was recorded so far; events are shared.
func (r *Recorder) History() *History {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := History{Seed: r.h.Seed, Faults: append([]Fault(nil), r.h.Faults...), Chats: make([]Chat, len(r.h.Chats))}
	for i, c := range r.h.Chats {
		h.Chats[i] = Chat{ID: c.ID, Ops: append([]Op(nil), c.Ops...), Final: c.Final}
	}
	return &h
}

// chat returns the chat with id, adding it when new. The caller holds r.mu.
func (r *Recorder) chat(id string) *Chat {
	i, ok := r.chats[id]
	if !ok {
		i = len(r.h.Chats)
		r.chats[id] = i
		r.h.Chats = append(r.h.Chats, Chat{ID: id})
	}
	return &r.h.Chats[i]
}
