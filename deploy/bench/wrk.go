package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The wrk scripts: each request goes to the next chat of a file of
// "chatId TAB userId TAB secureKey" lines, round-robin.
var (
	//go:embed refresh.lua
	refreshLua []byte
	//go:embed send.lua
	sendLua []byte
)

// wrkResult is what one wrk run measured.
type wrkResult struct {
	Requests int64   `json:"requests"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50Ms"`
	P99ms    float64 `json:"p99Ms"`
	MaxMs    float64 `json:"maxMs"`
	Errors   int64   `json:"errors"` // socket errors and answers other than 2xx and 3xx
}

// writeScripts writes the wrk scripts into dir.
func writeScripts(dir string) error {
	for name, data := range map[string][]byte{"refresh.lua": refreshLua, "send.lua": sendLua} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("cannot write %s: %w", name, err)
		}
	}
	return nil
}

// wrk runs wrk against url for d with the script action.lua over the chats
// in chatsFile, with the run's threads and connections.
func (b *bench) wrk(ctx context.Context, url, action, chatsFile string, conns int, d time.Duration) (wrkResult, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second)) // wrk takes whole seconds
	cmd := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(min(b.cfg.wrkThreads, conns)), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(secs)+"s", "--latency", "-s", filepath.Join(b.work, action+".lua"), url, "--", chatsFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s %s: %w\n%s", action, url, err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return r, fmt.Errorf("wrk %s %s: %w\n%s", action, url, err, out)
	}
	return r, nil
}

var (
	wrkRequests = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m)`)
	wrkRate     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkPercent  = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$`)
	wrkMax      = regexp.MustCompile(`(?m)^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)`)
	wrkSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads wrk's report (with --latency).
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkRequests.FindStringSubmatch(out)
	rate := wrkRate.FindStringSubmatch(out)
	if m == nil || rate == nil {
		return r, fmt.Errorf("no request count in wrk's report")
	}
	r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	r.Seconds = toMs(m[2], m[3]) / 1000
	r.RPS, _ = strconv.ParseFloat(rate[1], 64)
	for _, p := range wrkPercent.FindAllStringSubmatch(out, -1) {
		if p[1] == "50" {
			r.P50ms = toMs(p[2], p[3])
		} else {
			r.P99ms = toMs(p[2], p[3])
		}
	}
	if mx := wrkMax.FindStringSubmatch(out); mx != nil {
		r.MaxMs = toMs(mx[1], mx[2])
	}
	if s := wrkSocket.FindStringSubmatch(out); s != nil {
		for _, v := range s[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			r.Errors += n
		}
	}
	if s := wrkNon2xx.FindStringSubmatch(out); s != nil {
		n, _ := strconv.ParseInt(s[1], 10, 64)
		r.Errors += n
	}
	return r, nil
}

// toMs converts a wrk figure with its unit to milliseconds.
func toMs(v, unit string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	return f * map[string]float64{"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
}

// writeChats writes chats as wrk's scripts read them.
func writeChats(path string, chats []chatRef) error {
	var sb strings.Builder
	for _, c := range chats {
		fmt.Fprintf(&sb, "%s\t%s\t%s\n", c.ID, c.User, c.Key)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		return fmt.Errorf("cannot write the chats of wrk: %w", err)
	}
	return nil
}
