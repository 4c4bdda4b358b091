package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// bench is one run: its config, its folders and the processes it started.
type bench struct {
	cfg   config
	root  string // the repository
	work  string // logs, stores and configs of this run
	bin   string // the chatha binary
	procs *procs
	ports *ports
	out   io.Writer // progress
}

// logf prints a progress line.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.out, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// run measures every section, writes the report and prints its summary. A
// section that fails is reported as such; the others still run.
func run(ctx context.Context, cfg config, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "chatha-bench")
	if err != nil {
		return fmt.Errorf("cannot make a work folder: %w", err)
	}
	b := &bench{cfg: cfg, root: root, work: work, procs: &procs{dir: work}, ports: &ports{host: cfg.host}, out: w}
	if !cfg.keep {
		defer os.RemoveAll(work)
	}
	defer b.procs.closeAll()
	go func() { <-ctx.Done(); b.procs.closeAll() }() // Ctrl-C or the timeout stops everything at once

	rep := &report{Smoke: cfg.smoke, Started: time.Now()}
	if err := b.prepare(ctx, rep); err != nil {
		return err
	}
	rep.Machine = machineNow(ctx, rep.Tools)
	b.logf("on %s, %d cores, load %s; logs in %s", rep.Machine.CPU, rep.Machine.Cores, rep.Machine.LoadStart, work)
	var errs []error
	section := func(key, name string, f func(context.Context) error) {
		if cfg.only != nil && !cfg.only[key] {
			return
		}
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("%s: not run: %w", name, ctx.Err()))
			return
		}
		b.logf("== %s", name)
		start := time.Now()
		if err := f(ctx); err != nil {
			b.logf("%s failed: %v", name, err)
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", name, err))
		}
		b.logf("%s took %s", name, time.Since(start).Round(time.Second))
	}
	section("overhead", "proxy overhead", func(ctx context.Context) (err error) { rep.Overhead, err = b.overhead(ctx); return })
	section("failover", "failover under load", func(ctx context.Context) (err error) { rep.Failover, err = b.failover(ctx); return })
	section("cost", "cost of HA", func(ctx context.Context) (err error) { rep.Cost, err = b.cost(ctx); return })
	section("gossip", "gossip at scale", func(ctx context.Context) (err error) { rep.Gossip, err = b.gossip(ctx); return })
	rep.Finished = time.Now()
	rep.Machine.LoadEnd = loadAverage()
	rep.Targets = targets(rep)
	out := cfg.out
	if out == "" {
		out = filepath.Join(root, "docs")
	}
	if err := rep.write(out); err != nil {
		errs = append(errs, err)
	}
	rep.summary(w)
	fmt.Fprintf(w, "wrote %s, %s and %s in %s\n", filepath.Join(out, "BENCHMARKS.md"), filepath.Join(out, "CAPACITY.md"),
		filepath.Join(out, "bench", "*.json"), rep.Finished.Sub(rep.Started).Round(time.Second))
	return errors.Join(errs...)
}

// prepare installs the tools the run needs, notes their versions and
// builds chatha.
func (b *bench) prepare(ctx context.Context, rep *report) error {
	if err := b.installTools(ctx); err != nil {
		return err
	}
	rep.Tools = toolVersions(ctx)
	if err := writeScripts(b.work); err != nil {
		return err
	}
	b.bin = filepath.Join(b.work, "chatha")
	b.logf("building chatha")
	build := exec.CommandContext(ctx, "go", "build", "-o", b.bin, "./cmd/chatha")
	build.Dir = b.root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("cannot build chatha: %w\n%s", err, out)
	}
	return nil
}

// installTools installs the missing programs of the run from Debian's
// packages: HAProxy, nginx and wrk, and Java and Maven for Cassandra.
func (b *bench) installTools(ctx context.Context) error {
	tools := map[string]string{"haproxy": "haproxy", "nginx": "nginx", "wrk": "wrk"}
	if b.cfg.cassandra {
		tools["java"], tools["mvn"] = "openjdk-17-jre-headless", "maven"
	}
	var missing []string
	for bin, pkg := range tools {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if !b.cfg.install {
		return fmt.Errorf("missing %s (apt-get install %s), and --no-install was given", strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	b.logf("installing %s with apt-get", strings.Join(missing, ", "))
	for _, args := range [][]string{{"update", "-qq"}, append([]string{"install", "-y", "-qq"}, missing...)} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// repoRoot returns the folder of chatha's go.mod, from the current folder up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/chatha/chatha\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find chatha's go.mod here or above: run from the repository")
		}
		dir = parent
	}
}
