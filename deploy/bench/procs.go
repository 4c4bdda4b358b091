package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a process the run started, in a process group of its own, so
// that stopping it also stops what it started (nginx's workers).
type proc struct {
	name string
	log  string // file of its stdout and stderr
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	err  error         // its exit, once done is closed
}

// procs are the processes of a run; closeAll kills those still running.
type procs struct {
	dir string     // where the logs go
	mu  sync.Mutex // guards all
	all []*proc
}

// start runs argv with env added to this process's environment, its output
// in DIR/NAME.log.
func (ps *procs) start(name string, env []string, argv ...string) (*proc, error) {
	logPath := filepath.Join(ps.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own group, and SIGKILL if this process dies first (Linux).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	ps.mu.Lock()
	ps.all = append(ps.all, p)
	ps.mu.Unlock()
	return p, nil
}

// closeAll kills every process still running and waits for them.
func (ps *procs) closeAll() {
	ps.mu.Lock()
	all := ps.all
	ps.all = nil
	ps.mu.Unlock()
	for _, p := range all {
		p.kill()
	}
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to the process's group and waits until the process is gone.
func (p *proc) kill() {
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	p.wait(10 * time.Second)
}

// wait waits up to timeout for the process to exit and reports whether it did.
func (p *proc) wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// tail returns the last lines of the process's log, for error messages.
func (p *proc) tail() string {
	data, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return strings.Join(lines[max(0, len(lines)-8):], "\n")
}

// exited returns an error saying the process ended, with the end of its log.
func (p *proc) exited() error {
	return fmt.Errorf("%s exited (%v):\n%s", p.name, p.err, p.tail())
}

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
// /proc/PID/stat: 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime returns the CPU time (user and system) the process pid used so far.
func cpuTime(pid int) (time.Duration, error) {
	fields, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	// Fields 14 and 15 (utime, stime); fields counts from field 3.
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("cannot read the CPU time of %d: %w", pid, err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// statFields returns the fields of /proc/PID/stat after the command name,
// starting with field 3 (state).
func statFields(pid int) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, fmt.Errorf("cannot read the stat of %d: %w", pid, err)
	}
	i := bytes.LastIndexByte(data, ')') // the command name may hold spaces
	if i < 0 {
		return nil, fmt.Errorf("cannot parse the stat of %d", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 22 {
		return nil, fmt.Errorf("cannot parse the stat of %d", pid)
	}
	return fields, nil
}

// children returns the pids whose parent is pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if fields, err := statFields(child); err == nil && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// treeCPU returns the CPU time of pid and of its children (nginx's master
// and workers).
func treeCPU(pid int) (time.Duration, error) {
	total, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	for _, c := range children(pid) {
		if t, err := cpuTime(c); err == nil {
			total += t
		}
	}
	return total, nil
}

// rss returns the resident memory of the process pid in bytes.
func rss(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("cannot read the memory of %d: %w", pid, err)
	}
	n, err := kBField(string(data), "VmRSS")
	if err != nil {
		return 0, fmt.Errorf("cannot read the memory of %d: %w", pid, err)
	}
	return n, nil
}

// kBField returns, in bytes, the value of the line "KEY: N kB" of text,
// a /proc file such as /proc/meminfo or /proc/PID/status.
func kBField(text, key string) (int64, error) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("cannot parse %s: %w", key, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s line", key)
}

// ports hands out ports on one loopback address that were free, for TCP
// and UDP (gossip uses both), a moment ago, never the same one twice.
type ports struct {
	host string
	mu   sync.Mutex // guards given
	// given holds every port handed out.
	given map[int]bool
}

// next returns host:port with a free port.
func (ps *ports) next() (string, error) {
	for range 100 {
		ln, err := net.Listen("tcp", net.JoinHostPort(ps.host, "0"))
		if err != nil {
			return "", fmt.Errorf("cannot find a free port on %s: %w", ps.host, err)
		}
		addr := ln.Addr().(*net.TCPAddr)
		pc, udpErr := net.ListenPacket("udp", addr.String())
		ln.Close()
		if udpErr != nil {
			continue
		}
		pc.Close()
		ps.mu.Lock()
		taken := ps.given[addr.Port]
		if ps.given == nil {
			ps.given = map[int]bool{}
		}
		ps.given[addr.Port] = true
		ps.mu.Unlock()
		if !taken {
			return addr.String(), nil
		}
	}
	return "", fmt.Errorf("cannot find a free port on %s", ps.host)
}

// isLoopback reports whether host is an IPv4 address in 127.0.0.0/8.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() != nil && ip.IsLoopback()
}

// pollUntil calls cond every interval until it returns true, an error, or
// timeout passes; it says what it waited for.
func pollUntil(timeout, interval time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waited %s for %s", timeout, what)
		}
		time.Sleep(interval)
	}
}
