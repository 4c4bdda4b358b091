package chaos

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chaos/check"
)

// service is the chat service every chat of the run uses.
const service = "support"

// Bounds of a chat's lifetime, drawn per chat from the seed: long enough to
// live through a fault, short enough that a drained node empties quickly.
const minLife, maxLife = 10 * time.Second, 30 * time.Second

// workload runs the chats of a run.
type workload struct {
	rec    *check.Recorder
	chat   []*api.Client // one per proxy
	agents []*api.Client // the same, with the agent token
	seed   int64
	stop   chan struct{} // closed when chats must wrap up
	wg     sync.WaitGroup
	n      atomic.Int64 // chats started, for their labels

	created, normal, closed, acked atomic.Int64

	// storeOut is set while a store outage fault runs, and storeBack holds
	// when the last one ended (unix nanoseconds): see stalled.
	storeOut  atomic.Bool
	storeBack atomic.Int64

	mu       sync.Mutex // guards stalls and ackTimes
	stalls   []string
	ackTimes []time.Duration // from a message's first send to its acknowledgement
}

// newWorkload returns a workload that talks to the cluster's proxies.
func newWorkload(c *cluster, rec *check.Recorder, seed int64) (*workload, error) {
	w := &workload{rec: rec, seed: seed, stop: make(chan struct{})}
	for _, px := range c.proxies {
		cl, err := api.NewClient(api.ClientConfig{Addr: px.api, Timeout: callTimeout})
		if err != nil {
			return nil, err
		}
		w.chat = append(w.chat, cl)
		w.agents = append(w.agents, cl.WithToken(c.agentTk))
	}
	return w, nil
}

// start runs slots chat slots, each running chats one after another. A
// slot that panics is reported to fail, not left to crash the test process
// with every chatha process and namespace still in place.
func (w *workload) start(slots int, fail func(format string, args ...any)) {
	for i := range slots {
		w.wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					fail("chat slot %d panicked: %v\n%s", i, r, debug.Stack())
				}
			}()
			w.slot(i)
		})
	}
}

// finish tells every chat to wrap up and waits up to timeout for them.
func (w *workload) finish(timeout time.Duration) error {
	close(w.stop)
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("chats still running %v after the run ended", timeout)
	}
}

// stopping tells whether the chats must wrap up.
func (w *workload) stopping() bool { return isClosed(w.stop) }

// outage marks a store outage fault as running (out) or over.
func (w *workload) outage(out bool) {
	if !out {
		w.storeBack.Store(time.Now().UnixNano())
	}
	w.storeOut.Store(out)
}

// waitFrom returns when a participant whose last call was acknowledged at
// last started waiting: a store outage fault restarts the wait when it
// ends, since until the store is back a chat that moves to another node
// cannot be restored there (its restore cannot be stored: 503, retry), and
// a Cassandra outage lasts as long as two JVMs take to start and catch up
// (over two minutes on two busy cores).
func (w *workload) waitFrom(last time.Time) time.Time {
	if w.storeOut.Load() {
		return time.Now()
	}
	if back := time.Unix(0, w.storeBack.Load()); back.After(last) {
		return back
	}
	return last
}

func (w *workload) stall(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stalls = append(w.stalls, fmt.Sprintf(format, args...))
}

func (w *workload) ackTime(d time.Duration) {
	w.acked.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ackTimes = append(w.ackTimes, d)
}

// slot runs chats until the run ends. Its random draws come from the seed.
func (w *workload) slot(i int) {
	rng := mrand.New(mrand.NewPCG(uint64(w.seed), uint64(i)+1))
	for !w.stopping() {
		w.runChat(i, rng)
	}
}

// runChat runs one chat: the client creates it, an agent joins, both talk
// for the chat's lifetime (or until the run ends), the agent leaves and the
// client disconnects.
func (w *workload) runChat(slot int, rng *mrand.Rand) {
	label := fmt.Sprintf("c%d", w.n.Add(1))
	home := slot % len(w.chat)
	cl := w.participant(client, label, home, rng)
	if !cl.create() {
		return
	}
	w.created.Add(1)
	ag := w.participant(agent, label, (home+1)%len(w.chat), rng)
	ag.chat = cl.chat
	until := time.Now().Add(minLife + time.Duration(rng.Int64N(int64(maxLife-minLife))))
	var wg sync.WaitGroup
	wg.Go(func() {
		if ag.join() {
			ag.converse(until)
			ag.leave()
		}
	})
	cl.converse(until)
	wg.Wait()
	if cl.finish() {
		w.normal.Add(1)
	} else if cl.ended || ag.ended {
		w.closed.Add(1)
	}
}

// participant is one side of a chat. It is used by one goroutine.
type participant struct {
	w         *workload
	name      string
	nick      string
	label     string // the chat's label, in every message text
	chat      string
	user, key string
	proxy     int // the proxy it talks to now
	rng       *mrand.Rand
	next      int // its next transcript position
	sent      int
	done      bool // it stopped: the chat ended for it, or it stalled
	ended     bool // it learnt the chat ended
	lastAck   time.Time
	early     []check.Op // calls made before the chat's id was known
}

func (w *workload) participant(name, label string, proxy int, rng *mrand.Rand) *participant {
	return &participant{
		w: w, name: name, nick: name + "-" + label, label: label, proxy: proxy, next: 1, lastAck: time.Now(),
		rng: mrand.New(mrand.NewPCG(rng.Uint64(), rng.Uint64())),
	}
}

// requestID returns a new X-Request-Id: 32 random hex digits, long enough
// that a create is idempotent by it.
func requestID() string { return randomHex(16) }

// call makes one call through the participant's proxy and records it; a
// call without an answer moves the participant to the other proxy.
func (p *participant) call(op check.Op, req api.Request, reqID string) (*api.Reply, check.Outcome) {
	ctx := context.Background() // the clients bound each call to callTimeout
	if reqID != "" {
		ctx = api.WithRequestID(ctx, reqID)
	}
	op.Participant = p.name
	op.Call = p.w.rec.Now()
	var r *api.Reply
	var err error
	switch op.Action {
	case "create":
		r, err = p.w.chat[p.proxy].Create(ctx, service, &req)
	case "join":
		r, err = p.w.agents[p.proxy].JoinAgent(ctx, p.chat, &req)
	default:
		req.UserID, req.SecureKey = p.user, p.key
		r, err = p.w.chat[p.proxy].Act(ctx, service, p.chat, op.Action, &req)
	}
	op.Return = p.w.rec.Now()
	op.Outcome = outcome(&op, r, err)
	switch op.Outcome {
	case check.Ambiguous:
		p.proxy = (p.proxy + 1) % len(p.w.chat)
	case check.Acked:
		p.lastAck = time.Now()
	}
	if endsChat(r) {
		p.ended = true
	}
	if p.chat == "" {
		p.early = append(p.early, op)
	} else {
		p.w.rec.Add(p.chat, op)
	}
	return r, op.Outcome
}

// stalled tells whether the participant went without an acknowledged call
// for too long, and if so records it and stops the participant.
func (p *participant) stalled(doing string) bool {
	if time.Since(p.w.waitFrom(p.lastAck)) < stallLimit {
		return false
	}
	p.w.stall("%s of chat %s (%s) got no answer for %v while %s", p.name, p.label, p.chat, stallLimit, doing)
	p.done = true
	return true
}

// backoff paces retries: 50 ms doubling to 1 s, with jitter.
func (p *participant) backoff(attempt int) {
	d := 50 * time.Millisecond << min(attempt, 4)
	time.Sleep(d/2 + time.Duration(p.rng.Int64N(int64(d)))) // pacing, not a wait for a condition
}

// pace is the pause between a participant's calls.
func (p *participant) pace() {
	time.Sleep(50*time.Millisecond + time.Duration(p.rng.Int64N(int64(200*time.Millisecond)))) // pacing
}

// persist repeats a call, with the same request id, until it is
// acknowledged, refused for good, or the participant stalls. It returns the
// last answer and its outcome.
func (p *participant) persist(op check.Op, req api.Request, reqID string) (*api.Reply, check.Outcome) {
	for attempt := 0; ; attempt++ {
		r, out := p.call(op, req, reqID)
		switch {
		case out == check.Acked:
			return r, out
		case out == check.Failed:
			p.done = true
			return r, out
		case p.stalled(op.Action):
			return r, out
		}
		p.backoff(attempt)
	}
}

// create starts the chat; a retried create keeps its request id and gets
// the same chat.
func (p *participant) create() bool {
	r, out := p.persist(check.Op{Kind: check.Other, Action: "create"}, api.Request{Nickname: p.nick}, requestID())
	if out != check.Acked {
		return false
	}
	p.chat, p.user, p.key = r.ChatID, r.UserID, r.SecureKey
	p.next = max(p.next, r.NextPosition)
	for _, op := range p.early {
		p.w.rec.Add(p.chat, op)
	}
	p.early = nil
	return true
}

// join joins the agent. A join retried after its answer was lost was done,
// but its secure key cannot be given again: the agent joins anew, with a
// new request id, and the first join stays a silent participant.
func (p *participant) join() bool {
	id := requestID()
	for attempt := 0; ; attempt++ {
		r, out := p.call(check.Op{Kind: check.Other, Action: "join"}, api.Request{Nickname: p.nick}, id)
		switch {
		case out == check.Acked:
			p.user, p.key = r.UserID, r.SecureKey
			p.next = max(p.next, r.NextPosition)
			return true
		case out == check.Ambiguous, out == check.Failed && r.Status == 409 && len(r.Errors) > 0 && r.Errors[0].Code == api.CodeNotAllowed:
			id = requestID()
		case out == check.Failed:
			p.done = true
			return false
		}
		if p.stalled("joining") {
			return false
		}
		p.backoff(attempt)
	}
}

// converse sends, refreshes and types until until, the run's end, or the
// chat's end.
func (p *participant) converse(until time.Time) {
	for !p.done && !p.ended && time.Now().Before(until) && !p.w.stopping() {
		switch x := p.rng.IntN(100); {
		case x < 45:
			p.send()
		case x < 90:
			p.refresh()
		default:
			p.typing()
		}
		p.pace()
	}
}

// send sends the participant's next message until it is acknowledged.
func (p *participant) send() {
	text := fmt.Sprintf("%s-%s-%d", p.label, p.name, p.sent)
	p.sent++
	start := time.Now()
	if _, out := p.persist(check.Op{Kind: check.Send, Action: "send", Text: text}, api.Request{Message: text}, requestID()); out == check.Acked {
		p.w.ackTime(time.Since(start))
	}
}

// refresh reads the transcript from the participant's next position, once.
func (p *participant) refresh() {
	r, out := p.call(check.Op{Kind: check.Refresh, Action: "refresh", Position: p.next}, api.Request{TranscriptPosition: p.next}, "")
	switch out {
	case check.Acked:
		if r.NextPosition > 0 {
			p.next = r.NextPosition
		}
	case check.Failed:
		p.done = true
	default:
		p.stalled("refreshing")
	}
}

// typing shows the participant typing, and stops it, once each.
func (p *participant) typing() {
	for _, action := range []string{"startTyping", "stopTyping"} {
		if _, out := p.call(check.Op{Kind: check.Other, Action: action}, api.Request{}, ""); out == check.Failed {
			p.done = true
			return
		}
		p.pace()
	}
}

// leave makes the agent leave the chat, unless it stopped.
func (p *participant) leave() {
	if !p.done && !p.ended {
		p.persist(check.Op{Kind: check.Other, Action: "disconnect"}, api.Request{}, requestID())
	}
}

// finish catches the client up and disconnects it, which ends the chat; it
// reports whether the chat ended normally.
func (p *participant) finish() bool {
	if p.done || p.ended {
		return false
	}
	for attempt := 0; !p.done && !p.ended; attempt++ {
		r, out := p.call(check.Op{Kind: check.Refresh, Action: "refresh", Position: p.next}, api.Request{TranscriptPosition: p.next}, "")
		if out == check.Acked {
			p.next = max(p.next, r.NextPosition)
			break
		}
		if out == check.Failed || p.stalled("refreshing before the end") {
			return false
		}
		p.backoff(attempt)
	}
	if p.done || p.ended {
		return false
	}
	r, _ := p.persist(check.Op{Kind: check.Other, Action: "disconnect"}, api.Request{}, requestID())
	return endsChat(r)
}

// ackPercentiles returns the 50th and 99th percentile and the longest time
// from a message's first send to its acknowledgement.
func (w *workload) ackPercentiles() (p50, p99, longest time.Duration) {
	w.mu.Lock()
	ts := slices.Clone(w.ackTimes)
	w.mu.Unlock()
	if len(ts) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ts)
	return ts[len(ts)/2], ts[len(ts)*99/100], ts[len(ts)-1]
}
