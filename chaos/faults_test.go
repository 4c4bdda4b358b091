package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/chatha/chatha/chaos/check"
)

// Fault kinds; doc.go says what each does.
const (
	faultKill      = "kill"
	faultKillTwo   = "kill-two"
	faultPause     = "pause"
	faultPartition = "partition"
	faultStore     = "store-outage"
	faultDrain     = "drain"
	faultTerm      = "term"
	faultProxyKill = "proxy-kill"
)

// allFaults lists every kind, in the order a schedule's rounds shuffle.
var allFaults = []string{faultKill, faultKillTwo, faultPause, faultPartition, faultStore, faultDrain, faultTerm, faultProxyKill}

// Bounds of the schedule's random times.
const (
	minHold, maxHold = 1 * time.Second, 5 * time.Second // a fault stays this long once it took effect
	minCalm, maxCalm = 3 * time.Second, 8 * time.Second // traffic runs undisturbed this long before a fault
	// recoverTimeout bounds the wait for the cluster to be whole after a fault.
	recoverTimeout = 90 * time.Second
	// detectTimeout bounds the wait for every proxy to see a node fail.
	detectTimeout = 30 * time.Second
	// drainTimeout bounds chatha ctl drain --wait: the drained node's chats
	// end within a chat lifetime, and a stale copy it holds within the
	// flex-disconnect timeout (45s).
	drainTimeout = 150 * time.Second
)

// fault is one entry of a schedule.
type fault struct {
	Kind   string
	Target string        // the node, proxy or store part it hits
	Second string        // kill-two's second node; a Cassandra outage's second node
	Hold   time.Duration // how long it stays once it took effect
	Calm   time.Duration // undisturbed traffic before it
}

func (f fault) String() string {
	s := f.Kind + " " + f.Target
	if f.Second != "" {
		s += "+" + f.Second
	}
	return fmt.Sprintf("%s (hold %v after %v calm)", s, f.Hold, f.Calm)
}

// target names what a recorded fault hit.
func (f fault) target() string {
	if f.Second != "" {
		return f.Target + "+" + f.Second
	}
	return f.Target
}

// schedule returns rounds rounds of faults: each round has every kind of
// kinds once, in an order, with targets and times, all drawn from seed.
// storeTargets are what a store outage may hit.
func schedule(seed int64, kinds []string, rounds int, storeTargets []string) []fault {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5c4ed01e))
	between := func(lo, hi time.Duration) time.Duration {
		return lo + time.Duration(rng.Int64N(int64(hi-lo)/int64(100*time.Millisecond)+1))*100*time.Millisecond
	}
	two := func(names []string) (string, string) {
		i := rng.IntN(len(names))
		j := (i + 1 + rng.IntN(len(names)-1)) % len(names)
		return names[i], names[j]
	}
	var out []fault
	for range rounds {
		order := append([]string(nil), kinds...)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			f := fault{Kind: k, Hold: between(minHold, maxHold), Calm: between(minCalm, maxCalm)}
			switch k {
			case faultKillTwo:
				f.Target, f.Second = two(nodeNames)
			case faultProxyKill:
				f.Target = proxyNames[rng.IntN(len(proxyNames))]
			case faultStore:
				if len(storeTargets) > 1 {
					f.Target, f.Second = two(storeTargets)
				} else {
					f.Target = storeTargets[0]
				}
			default:
				f.Target = nodeNames[rng.IntN(len(nodeNames))]
			}
			out = append(out, f)
		}
	}
	return out
}

// injector runs faults against a cluster and records them.
type injector struct {
	c   *cluster
	w   *workload // told of store outages (workload.outage)
	rec *check.Recorder
	log func(format string, args ...any)
}

// run runs the schedule: always its first round (every kind once), then
// more faults until the run's time is up. It stops at the first fault that
// fails (the cluster did not recover), and returns how many ran.
func (in *injector) run(sched []fault, firstRound int, until time.Time) (int, error) {
	for i, f := range sched {
		if i >= firstRound && time.Now().After(until) {
			return i, nil
		}
		time.Sleep(f.Calm) // undisturbed traffic between faults
		in.log("fault %d: %v", i+1, f)
		start := in.rec.Now()
		err := in.inject(f)
		end := in.rec.Now()
		in.rec.Fault(check.Fault{Kind: f.Kind, Target: f.target(), Start: start, End: end})
		in.log("fault %d: %s over after %v", i+1, f.Kind, time.Duration(end-start).Round(time.Millisecond))
		if err != nil {
			return i + 1, fmt.Errorf("fault %d, %v: %w", i+1, f, err)
		}
	}
	return len(sched), nil
}

// inject makes fault f, undoes it and waits until the cluster recovered.
func (in *injector) inject(f fault) error {
	c := in.c
	switch f.Kind {
	case faultKill:
		return in.kill(f.Hold, c.byName[f.Target])
	case faultKillTwo:
		return in.kill(f.Hold, c.byName[f.Target], c.byName[f.Second])
	case faultPause:
		return in.pause(f)
	case faultPartition:
		return in.partition(f)
	case faultStore:
		in.w.outage(true)
		defer in.w.outage(false)
		return c.store.outage(c, f)
	case faultDrain:
		return in.drain(f)
	case faultTerm:
		return in.term(f)
	case faultProxyKill:
		return in.kill(f.Hold, c.byName[f.Target])
	}
	return fmt.Errorf("BUG: unknown fault kind %q", f.Kind)
}

// kill kills ms with SIGKILL one after another, each node once every proxy
// saw the one before fail, then restarts them under their names.
func (in *injector) kill(hold time.Duration, ms ...*member) error {
	for i, m := range ms {
		if i > 0 && ms[i-1].node {
			if err := in.c.waitSeenDown(ms[i-1], detectTimeout); err != nil {
				return err
			}
		}
		p, _ := m.current()
		if err := p.kill(); err != nil {
			return fmt.Errorf("cannot kill %s: %w", m.name, err)
		}
	}
	time.Sleep(hold) // how long they stay down
	for _, m := range ms {
		if err := in.c.restart(m); err != nil {
			return err
		}
	}
	return in.c.waitRecovered(recoverTimeout)
}

// pause stops a node with SIGSTOP until every proxy saw it fail, holds, and
// lets it go on.
func (in *injector) pause(f fault) error {
	n := in.c.byName[f.Target]
	p, _ := n.current()
	if err := p.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	err := in.c.waitSeenDown(n, detectTimeout)
	if err == nil {
		time.Sleep(f.Hold) // how long it stays paused past detection
	}
	if cerr := p.signal(syscall.SIGCONT); cerr != nil {
		return errors.Join(err, cerr)
	}
	return errors.Join(err, in.c.waitRecovered(recoverTimeout))
}

// partition cuts a node off the lab until every proxy saw it fail, holds,
// and heals it.
func (in *injector) partition(f fault) error {
	lab := in.c.lab
	if lab == nil {
		return errors.New("BUG: a partition without a network lab")
	}
	if err := lab.Isolate(f.Target); err != nil {
		return err
	}
	err := in.c.waitSeenDown(in.c.byName[f.Target], detectTimeout)
	if err == nil {
		time.Sleep(f.Hold) // how long it stays cut off past detection
	}
	if herr := lab.Heal(f.Target); herr != nil {
		return errors.Join(err, herr)
	}
	return errors.Join(err, in.c.waitRecovered(recoverTimeout))
}

// drain runs chatha ctl drain NODE --wait through a proxy in the middle of
// traffic, holds, and undrains the node.
func (in *injector) drain(f fault) error {
	if err := in.ctl(drainTimeout, "drain", f.Target, "--wait"); err != nil {
		return err
	}
	time.Sleep(f.Hold) // how long it stays drained
	if err := in.ctl(time.Minute, "undrain", f.Target); err != nil {
		return err
	}
	return in.c.waitRecovered(recoverTimeout)
}

// term stops a node with SIGTERM and restarts it.
func (in *injector) term(f fault) error {
	n := in.c.byName[f.Target]
	p, _ := n.current()
	if err := p.terminate(30 * time.Second); err != nil {
		return fmt.Errorf("%s did not stop on SIGTERM: %w", n.name, err)
	}
	time.Sleep(f.Hold) // how long it stays down
	if err := in.c.restart(n); err != nil {
		return err
	}
	return in.c.waitRecovered(recoverTimeout)
}

// ctl runs chatha ctl with args against a running proxy, from the test's
// own network (the lab's host link), with the cluster token. An operator
// runs it again when it fails, and so does the run, until timeout: a
// loaded machine may declare a node dead for a moment (a proxy then knows
// no live node of its name), which is not what the run checks.
func (in *injector) ctl(timeout time.Duration, args ...string) error {
	deadline := time.Now().Add(timeout)
	for {
		err := in.ctlOnce(time.Until(deadline), args...)
		if err == nil || time.Until(deadline) < time.Second {
			return err
		}
		in.log("%v; running it again", err)
		time.Sleep(time.Second) // pacing between attempts
	}
}

// ctlOnce runs chatha ctl once, for at most timeout.
func (in *injector) ctlOnce(timeout time.Duration, args ...string) error {
	var px *member
	for _, m := range in.c.proxies {
		if p, _ := m.current(); p != nil && p.running() {
			px = m
			break
		}
	}
	if px == nil {
		return errors.New("no proxy runs")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, in.c.binary, append([]string{"ctl", "--proxy", "http://" + px.api}, args...)...)
	cmd.Env = append(os.Environ(), in.c.env...)
	log, err := os.OpenFile(filepath.Join(in.c.dir, "ctl.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "=== %s: chatha ctl %v\n", time.Now().Format(time.RFC3339Nano), args)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("chatha ctl %v (through %s): %w (see ctl.log)", args, px.name, err)
	}
	return nil
}
