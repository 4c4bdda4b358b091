package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// report is everything one run measured.
type report struct {
	Smoke    bool              `json:"smoke"`
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	Machine  machine           `json:"machine"`
	Tools    map[string]string `json:"-"`
	Overhead *overheadResult   `json:"-"`
	Failover *failoverResult   `json:"-"`
	Cost     *costResult       `json:"-"`
	Gossip   *gossipResult     `json:"-"`
	Targets  []target          `json:"targets"`
	Errors   []string          `json:"errors,omitempty"`
}

// target is one target of the issue and where the run puts chatha.
type target struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// write writes dir/BENCHMARKS.md, dir/CAPACITY.md and dir/bench/*.json.
func (r *report) write(dir string) error {
	raw := filepath.Join(dir, "bench")
	if err := os.MkdirAll(raw, 0o755); err != nil {
		return fmt.Errorf("cannot make %s: %w", raw, err)
	}
	files := map[string]any{"run.json": r, "overhead.json": r.Overhead, "failover.json": r.Failover, "cost.json": r.Cost, "gossip.json": r.Gossip}
	for name, v := range files {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("cannot encode %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(raw, name), append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("cannot write %s: %w", name, err)
		}
	}
	for name, write := range map[string]func(*strings.Builder){"BENCHMARKS.md": r.markdown, "CAPACITY.md": r.capacityMarkdown} {
		var sb strings.Builder
		write(&sb)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sb.String()), 0o644); err != nil {
			return fmt.Errorf("cannot write %s: %w", name, err)
		}
	}
	return nil
}

// summary prints the targets and any failed section.
func (r *report) summary(w io.Writer) {
	fmt.Fprintln(w, "\nWhere chatha stands:")
	for _, t := range r.Targets {
		fmt.Fprintf(w, "  [%s] %s: %s\n", map[bool]string{true: "met", false: "MISSED"}[t.Met], t.Name, t.Measured)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  FAILED %s\n", firstLine(e))
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// row finds the overhead row of door with threads for action.
func (o *overheadResult) row(action, door string, threads int) (overheadRow, bool) {
	if o == nil {
		return overheadRow{}, false
	}
	for _, r := range o.Rows {
		if r.Action == action && r.Door == door && r.Threads == threads {
			return r, true
		}
	}
	return overheadRow{}, false
}

// runOf finds the failover run of door with settings starting with prefix.
func (f *failoverResult) runOf(door, prefix string) (failoverRun, bool) {
	if f == nil {
		return failoverRun{}, false
	}
	for _, r := range f.Runs {
		if r.Door == door && strings.HasPrefix(r.Settings, prefix) {
			return r, true
		}
	}
	return failoverRun{}, false
}

func rps(r overheadRound) float64    { return r.RPS }
func p50(r overheadRound) float64    { return r.P50ms }
func p99(r overheadRound) float64    { return r.P99ms }
func cpu10k(r overheadRound) float64 { return r.CPUPer10k }

// targets says where the run puts chatha against each target of the issue.
func targets(r *report) []target {
	var out []target
	for _, threads := range []int{1, 2} {
		for _, action := range []string{"refresh", "send"} {
			c, ok1 := r.Overhead.row(action, "chatha proxy", threads)
			h, ok2 := r.Overhead.row(action, "HAProxy", threads)
			if !ok1 || !ok2 {
				continue
			}
			ratio := c.figure(rps).Median / h.figure(rps).Median
			out = append(out, target{Name: fmt.Sprintf("throughput >= 1.1x HAProxy (%s, %d thread)", action, threads),
				Measured: fmt.Sprintf("%.2fx (%.0f vs %.0f requests/s)", ratio, c.figure(rps).Median, h.figure(rps).Median), Met: ratio >= 1.1})
			cc, hc := c.figure(cpu10k).Median, h.figure(cpu10k).Median
			out = append(out, target{Name: fmt.Sprintf("CPU per request <= HAProxy (%s, %d thread)", action, threads),
				Measured: fmt.Sprintf("%.2fx (%.3f vs %.3f CPU s per 10k requests)", cc/hc, cc, hc), Met: cc <= hc})
			cp, hp := c.figure(p99).Median, h.figure(p99).Median
			out = append(out, target{Name: fmt.Sprintf("p99 no worse than HAProxy (%s, %d thread)", action, threads),
				Measured: fmt.Sprintf("%.2f vs %.2f ms", cp, hp), Met: cp <= hp})
		}
	}
	if c, ok := r.Failover.runOf("chatha proxy", ""); ok {
		out = append(out,
			target{Name: "failover: no client error", Measured: fmt.Sprintf("%d errors in %d requests", c.Errors, c.Requests), Met: c.Errors == 0},
			target{Name: "failover: no acknowledged message lost or duplicated", Measured: fmt.Sprintf("%d lost, %d duplicated of %d acknowledged", c.Lost, c.Duplicated, c.Acked), Met: c.Lost == 0 && c.Duplicated == 0},
			target{Name: "failover: longest request under 300 ms", Measured: fmt.Sprintf("%.0f ms", c.LongestMs), Met: c.LongestMs < 300})
		if h, ok := r.Failover.runOf("HAProxy", "tuned"); ok {
			out = append(out, target{Name: "failover: longest request at least 5x shorter than tuned HAProxy's",
				Measured: fmt.Sprintf("%.1fx (%.0f vs %.0f ms)", h.LongestMs/c.LongestMs, c.LongestMs, h.LongestMs), Met: h.LongestMs >= 5*c.LongestMs})
		}
	}
	if r.Gossip != nil && len(r.Gossip.Members.Kills) > 0 {
		g := r.Gossip.Members
		s := statsOf(g.deadSeconds())
		out = append(out, target{Name: fmt.Sprintf("%d members: kill-to-dead under 1.5 s at every proxy", g.Nodes+g.Proxies),
			Measured: fmt.Sprintf("p50 %.2f s, slowest %.2f s (%d kills x %d proxies)", s.Median, s.Max, len(g.Kills), g.Proxies), Met: s.Max < 1.5})
	}
	return out
}
