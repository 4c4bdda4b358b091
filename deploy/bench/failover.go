package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// failoverResult is section 2: a node killed with SIGKILL under load,
// behind each front door.
type failoverResult struct {
	Chats     int           `json:"chats"`
	GapMs     float64       `json:"gapMs"`
	LoadSecs  float64       `json:"loadBeforeKillSeconds"`
	AfterSecs float64       `json:"loadAfterKillSeconds"`
	Runs      []failoverRun `json:"runs"`
}

// failoverRun is one front door's run.
type failoverRun struct {
	Door          string         `json:"door"`
	Settings      string         `json:"settings"`
	Victim        string         `json:"victim"`
	VictimChats   int            `json:"victimChats"` // chats the killed node served at the kill
	Requests      int            `json:"requests"`
	Acked         int            `json:"acked"`
	Errors        int            `json:"errors"`       // requests that were not acknowledged
	ErrorKinds    map[string]int `json:"errorKinds"`   // by HTTP status or transport error
	ErrorsFromMs  float64        `json:"errorsFromMs"` // first error's start, after the kill
	ErrorsToMs    float64        `json:"errorsToMs"`   // last error's end, after the kill
	P50Ms         float64        `json:"p50Ms"`
	P99Ms         float64        `json:"p99Ms"`
	LongestMs     float64        `json:"longestMs"`
	RecoveryMaxMs float64        `json:"recoveryMaxMs"` // kill to the first acknowledgement of each of the dead node's chats: the slowest
	RecoveryP50Ms float64        `json:"recoveryP50Ms"`
	Lost          int            `json:"lost"`          // acknowledged messages missing from their transcript
	Duplicated    int            `json:"duplicated"`    // messages stored more than once
	StoredUnacked int            `json:"storedUnacked"` // messages stored without an acknowledgement the client saw
	Slowest       []sendRecord   `json:"slowest"`
	Timeline      []bucket       `json:"timeline"` // 250 ms buckets from the start of the load
}

// sendRecord is one send as the client saw it. Times are from the kill.
type sendRecord struct {
	Chat    int     `json:"chat"`
	Seq     int     `json:"seq"`
	StartMs float64 `json:"startMs"`
	Ms      float64 `json:"ms"`
	Status  int     `json:"status"`
	Code    int     `json:"statusCode"`
	Acked   bool    `json:"acked"`
	Node    string  `json:"node,omitempty"`
	Err     string  `json:"err,omitempty"`
}

func (r sendRecord) endMs() float64 { return r.StartMs + r.Ms }

// bucket is what the clients saw in one slice of time.
type bucket struct {
	StartMs  float64 `json:"startMs"` // from the kill
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	MaxMs    float64 `json:"maxMs"`
}

// failover measures section 2 behind chatha proxy and HAProxy with
// ordinary and tuned checks, each on three fresh nodes.
func (b *bench) failover(ctx context.Context) (*failoverResult, error) {
	res := &failoverResult{Chats: b.cfg.failoverChats, GapMs: ms(b.cfg.failoverGap),
		LoadSecs: b.cfg.failoverLoad.Seconds(), AfterSecs: b.cfg.failoverAfter.Seconds()}
	for i, checks := range []*haproxyChecks{nil, &haproxyOrdinary, &haproxyTuned} {
		run, err := b.failoverRun(ctx, i, checks)
		if err != nil {
			return res, err
		}
		b.logf("%-14s %-40.40s errors %d, longest %.0f ms, recovered within %.0f ms, lost %d, duplicated %d",
			run.Door, run.Settings, run.Errors, run.LongestMs, run.RecoveryMaxMs, run.Lost, run.Duplicated)
		res.Runs = append(res.Runs, run)
	}
	return res, nil
}

// failoverRun runs the load behind chatha proxy (checks nil) or HAProxy
// with checks, kills the node serving most chats, and checks every
// transcript afterwards.
func (b *bench) failoverRun(ctx context.Context, i int, checks *haproxyChecks) (failoverRun, error) {
	var run failoverRun
	nodes, err := b.startNodes(3, "sqlite:"+filepath.Join(b.work, fmt.Sprintf("failover-%d.db", i)))
	defer stopAll(nodes)
	if err != nil {
		return run, err
	}
	var addr string
	if checks == nil {
		run.Door, run.Settings = "chatha proxy", "defaults (passive detection, gossip)"
		px, err := b.startProxy(fmt.Sprintf("failover-proxy-%d", i), gossipOf(nodes))
		if err != nil {
			return run, err
		}
		defer px.kill()
		if err := px.waitRoutes(len(nodes), 30*time.Second); err != nil {
			return run, err
		}
		addr = px.api
	} else {
		run.Door, run.Settings = "HAProxy", checks.Name
		ha, listen, err := b.startHAProxy(fmt.Sprintf("failover-haproxy-%d", i), 2, *checks, nodes)
		if ha != nil {
			defer ha.kill()
		}
		if err != nil {
			return run, err
		}
		addr = listen
	}
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: 4 * b.cfg.failoverChats, ReadTimeout: 30 * time.Second}
	client, err := api.NewClient(api.ClientConfig{Addr: addr, HostClient: hc, Timeout: 30 * time.Second})
	if err != nil {
		return run, err
	}
	chats, err := makeChats(ctx, client, b.cfg.failoverChats, 3) // the third event moves each chat to where the door routes it
	if err != nil {
		return run, err
	}
	recs, victim, victimChats, err := b.loadAndKill(ctx, client, chats, nodes)
	if err != nil {
		return run, err
	}
	run.Victim, run.VictimChats = victim.name, len(victimChats)
	summarize(&run, recs, victim.name, victimChats)
	return run, checkTranscripts(ctx, client, chats, recs, &run)
}

// loadAndKill has every chat send numbered messages one after another,
// kills the node serving most chats after failoverLoad, and stops the
// load failoverAfter later. It returns every send, times from the kill.
func (b *bench) loadAndKill(ctx context.Context, c *api.Client, chats []chatRef, nodes []*member) ([]sendRecord, *member, map[int]bool, error) {
	var mu sync.Mutex // guards serving
	serving := make([]string, len(chats))
	for i, ch := range chats {
		serving[i] = ch.Node
	}
	stop := make(chan struct{})
	start := time.Now()
	var killAt time.Time
	results := make([][]sendRecord, len(chats))
	var wg sync.WaitGroup
	for i, ch := range chats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = sendLoop(ctx, c, i, ch, b.cfg.failoverGap, start, stop, func(node string) {
				mu.Lock()
				serving[i] = node
				mu.Unlock()
			})
		}()
	}
	time.Sleep(b.cfg.failoverLoad)
	mu.Lock()
	victim := busiest(serving, nodes)
	victimChats := map[int]bool{}
	for i, n := range serving {
		if n == victim.name {
			victimChats[i] = true
		}
	}
	killAt = time.Now()
	err := syscall.Kill(victim.pid(), syscall.SIGKILL)
	mu.Unlock()
	if err != nil {
		close(stop)
		wg.Wait()
		return nil, victim, nil, fmt.Errorf("cannot kill %s: %w", victim.name, err)
	}
	b.logf("killed %s (%d of %d chats) after %s of load", victim.name, len(victimChats), len(chats), killAt.Sub(start).Round(time.Millisecond))
	time.Sleep(b.cfg.failoverAfter)
	close(stop)
	wg.Wait()
	var all []sendRecord
	shift := ms(killAt.Sub(start))
	for _, rs := range results {
		for _, r := range rs {
			r.StartMs -= shift
			all = append(all, r)
		}
	}
	return all, victim, victimChats, nil
}

// sendLoop sends messages "chat I message N" to ch, N = 1, 2, ..., each
// after the answer to the one before and a pause of gap, until stop closes.
// Times are from t0; seen gets the node of every acknowledgement.
func sendLoop(ctx context.Context, c *api.Client, i int, ch chatRef, gap time.Duration, t0 time.Time, stop chan struct{}, seen func(string)) []sendRecord {
	var out []sendRecord
	for seq := 1; ; seq++ {
		select {
		case <-stop:
			return out
		default:
		}
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		r, err := c.Act(rctx, service, ch.ID, "send", &api.Request{UserID: ch.User, SecureKey: ch.Key, Message: messageText(i, seq)})
		cancel()
		rec := sendRecord{Chat: i, Seq: seq, StartMs: ms(start.Sub(t0)), Ms: ms(time.Since(start))}
		if r != nil {
			rec.Status, rec.Code, rec.Node = r.Status, r.StatusCode, r.Alias
		}
		rec.Acked = err == nil && r.Status == 200 && r.StatusCode == api.StatusOK
		switch {
		case rec.Acked:
			seen(r.Alias)
		case err != nil:
			rec.Err = errorKind(err, r)
		}
		out = append(out, rec)
		select {
		case <-stop:
			return out
		case <-time.After(gap):
		}
	}
}

// messageText is the text of message seq of chat i; messageRE reads it back.
func messageText(i, seq int) string { return fmt.Sprintf("chat %d message %d", i, seq) }

var messageRE = regexp.MustCompile(`^chat (\d+) message (\d+)$`)

// errorKind names what went wrong with a request that got no chat API
// answer: an answer that is not one (a proxy's own error page), a timeout,
// or the connection.
func errorKind(err error, r *api.Reply) string {
	switch {
	case r != nil && r.Status != 0:
		return fmt.Sprintf("HTTP %d, not a chat API answer", r.Status)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, fasthttp.ErrTimeout):
		return "timeout"
	}
	return "connection: " + err.Error()
}

// busiest returns the node among nodes that serves most chats.
func busiest(serving []string, nodes []*member) *member {
	count := map[string]int{}
	for _, n := range serving {
		count[n]++
	}
	best := nodes[0]
	for _, n := range nodes {
		if count[n.name] > count[best.name] {
			best = n
		}
	}
	return best
}

// summarize fills run's client-side figures from recs.
func summarize(run *failoverRun, recs []sendRecord, victim string, victimChats map[int]bool) {
	run.Requests = len(recs)
	run.ErrorKinds = map[string]int{}
	var lat []float64
	first := map[int]float64{} // chat -> end of its first acknowledgement by another node after the kill
	run.ErrorsFromMs, run.ErrorsToMs = -1, -1
	for _, r := range recs {
		lat = append(lat, r.Ms)
		if r.Acked {
			run.Acked++
			if _, ok := first[r.Chat]; !ok && victimChats[r.Chat] && r.endMs() > 0 && r.Node != victim {
				first[r.Chat] = r.endMs()
			}
			continue
		}
		run.Errors++
		kind := r.Err
		if kind == "" {
			kind = fmt.Sprintf("HTTP %d, statusCode %d", r.Status, r.Code)
		}
		run.ErrorKinds[kind]++
		if run.ErrorsFromMs < 0 || r.StartMs < run.ErrorsFromMs {
			run.ErrorsFromMs = r.StartMs
		}
		run.ErrorsToMs = max(run.ErrorsToMs, r.endMs())
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		run.P50Ms, run.P99Ms, run.LongestMs = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	var rec []float64
	for chat := range victimChats {
		end, ok := first[chat]
		if !ok {
			end = -1 // never answered again
		}
		rec = append(rec, end)
	}
	slices.Sort(rec)
	if len(rec) > 0 {
		run.RecoveryP50Ms, run.RecoveryMaxMs = rec[len(rec)/2], rec[len(rec)-1]
		if rec[0] < 0 {
			run.RecoveryMaxMs = -1
		}
	}
	run.Slowest = slowest(recs, 10)
	run.Timeline = timeline(recs, 250)
}

// slowest returns the n slowest sends.
func slowest(recs []sendRecord, n int) []sendRecord {
	s := slices.Clone(recs)
	slices.SortFunc(s, func(a, b sendRecord) int { return int(b.Ms*1000) - int(a.Ms*1000) })
	return s[:min(n, len(s))]
}

// timeline groups recs by start into buckets of width milliseconds.
func timeline(recs []sendRecord, width float64) []bucket {
	byStart := map[int]*bucket{}
	for _, r := range recs {
		k := int(r.StartMs / width)
		if r.StartMs < 0 {
			k--
		}
		bk := byStart[k]
		if bk == nil {
			bk = &bucket{StartMs: float64(k) * width}
			byStart[k] = bk
		}
		bk.Requests++
		if !r.Acked {
			bk.Errors++
		}
		bk.MaxMs = max(bk.MaxMs, r.Ms)
	}
	var out []bucket
	for _, k := range slices.Sorted(maps.Keys(byStart)) {
		out = append(out, *byStart[k])
	}
	return out
}

// checkTranscripts reads every chat's transcript through c and counts the
// acknowledged messages missing from it, the messages in it more than
// once, and those in it the client never saw acknowledged.
func checkTranscripts(ctx context.Context, c *api.Client, chats []chatRef, recs []sendRecord, run *failoverRun) error {
	acks := map[[2]int]bool{}
	for _, r := range recs {
		if r.Acked {
			acks[[2]int{r.Chat, r.Seq}] = true
		}
	}
	stored := map[[2]int]int{}
	for i, ch := range chats {
		pages, err := transcript(ctx, c, ch)
		if err != nil {
			return err
		}
		for _, p := range pages {
			for _, m := range p.Messages {
				if g := messageRE.FindStringSubmatch(m.Text); g != nil && m.Type == "Message" {
					chat, _ := strconv.Atoi(g[1])
					seq, _ := strconv.Atoi(g[2])
					if chat == i {
						stored[[2]int{chat, seq}]++
					}
				}
			}
		}
	}
	for k := range acks {
		if stored[k] == 0 {
			run.Lost++
		}
	}
	for k, n := range stored {
		if n > 1 {
			run.Duplicated += n - 1
		}
		if !acks[k] {
			run.StoredUnacked++
		}
	}
	return nil
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
