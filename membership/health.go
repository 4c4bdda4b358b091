package membership

import (
	"sync"
	"time"
)

// probeFresh is how recent a probe must be to count in the mean a member
// publishes: members probe each other round-robin, so in a cluster of up to
// a hundred members every one is probed within this time.
const probeFresh = 30 * time.Second

// Probe is what this member measured of another one by probing it.
type Probe struct {
	// RTT is a moving average of the round trips of this member's probes of
	// it (each new probe weighs a quarter).
	RTT time.Duration
	// Last is when it last answered a probe of this member.
	Last time.Time
	// Count is how many of this member's probes it answered.
	Count uint64
}

// probes holds this member's probes of the others. memberlist reports each
// answered probe from its probe goroutine.
type probes struct {
	mu     sync.Mutex // guards byName
	byName map[string]Probe
}

func newProbes() *probes { return &probes{byName: map[string]Probe{}} }

// observe records that name answered a probe after rtt, at now.
func (p *probes) observe(name string, rtt time.Duration, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr := p.byName[name]
	if pr.Count == 0 {
		pr.RTT = rtt
	} else {
		pr.RTT += (rtt - pr.RTT) / 4
	}
	pr.Last, pr.Count = now, pr.Count+1
	p.byName[name] = pr
}

// all returns a copy of every member's probe figures.
func (p *probes) all() map[string]Probe {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]Probe, len(p.byName))
	for k, v := range p.byName {
		out[k] = v
	}
	return out
}

// mean returns the mean RTT of the members probed since now-probeFresh,
// to the microsecond, and forgets the others.
func (p *probes) mean(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var sum time.Duration
	n := 0
	for name, pr := range p.byName {
		if now.Sub(pr.Last) > probeFresh {
			delete(p.byName, name)
			continue
		}
		sum += pr.RTT
		n++
	}
	if n == 0 {
		return 0
	}
	return min(sum/time.Duration(n), MaxProbeRTT).Round(time.Microsecond)
}

// Probes returns what this member measured of each other member it probed
// recently, by name.
func (m *Member) Probes() map[string]Probe { return m.probes.all() }

// health returns this member's Health now.
func (m *Member) health(now time.Time) Health {
	return Health{
		Score:       min(m.ml.GetHealthScore(), MaxHealthScore),
		Refutations: int(min(m.refutations.Load(), MaxRefutations)),
		ProbeRTT:    m.probes.mean(now),
	}
}

// minRTTMove is the least change of the mean probe round trip worth a
// publication: on a LAN it is a few hundred microseconds, and its jitter
// alone moved it by a quarter in about every other interval.
const minRTTMove = 500 * time.Microsecond

// reportHealth publishes this member's Health in its Meta every interval
// when it changed: a new score or refutation count, or a probe round trip a
// quarter and at least minRTTMove off the one published. Round trips
// jitter, and each publication is a broadcast to every member and a new
// View at each of them.
func (m *Member) reportHealth(interval time.Duration) {
	defer close(m.healthDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-m.stop:
			return
		}
		h, old := m.health(time.Now()), m.meta.get().Health
		if h.Score == old.Score && h.Refutations == old.Refutations && !rttMoved(old.ProbeRTT, h.ProbeRTT) {
			continue
		}
		if err := m.UpdateMeta(func(mt *Meta) { mt.Health = h }); err != nil {
			m.cfg.Logger.Debug("cannot gossip health", "err", err)
		}
	}
}

// rttMoved reports whether a mean probe round trip that went from was to
// now moved enough to publish: by a quarter of was, and by minRTTMove.
// The first one measured (was 0) always is.
func rttMoved(was, now time.Duration) bool {
	d := now - was
	if d < 0 {
		d = -d
	}
	return d > 0 && (was == 0 || d*4 > was && d >= minRTTMove)
}
