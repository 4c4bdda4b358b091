package chaos

import (
	"errors"
	"fmt"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"
)

// proc is one process of a member: started once, ended once. A restart is a
// new proc.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has ended
	err  error         // how it ended, set before done is closed
	// expected is set before the run signals the process to end, so its end
	// is not taken for a crash.
	expected atomic.Bool
}

// errStillRunning is returned when a process outlived the wait for its end.
var errStillRunning = errors.New("process still running")

// startProc starts cmd; onExit runs once the process has ended, with
// whether the run expected that.
func startProc(cmd *exec.Cmd, onExit func(p *proc, expected bool)) (*proc, error) {
	p := &proc{cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
		onExit(p, p.expected.Load())
	}()
	return p, nil
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// running reports whether the process has not ended.
func (p *proc) running() bool { return !isClosed(p.done) }

// isClosed tells, without waiting, whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// signal sends sig; a process that has ended is not an error.
func (p *proc) signal(sig syscall.Signal) error {
	if !p.running() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && p.running() {
		return fmt.Errorf("cannot send %v to pid %d: %w", sig, p.pid(), err)
	}
	return nil
}

// wait waits up to timeout for the process to end and returns how it ended.
func (p *proc) wait(timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.err
	case <-t.C:
		return fmt.Errorf("pid %d after %v: %w", p.pid(), timeout, errStillRunning)
	}
}

// kill ends the process with SIGKILL (a stopped process too) and waits for it.
func (p *proc) kill() error {
	p.expected.Store(true)
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	if err := p.wait(10 * time.Second); errors.Is(err, errStillRunning) {
		return err
	}
	return nil
}

// terminate sends SIGTERM and waits up to timeout for the process to end;
// past it, it kills the process and says so.
func (p *proc) terminate(timeout time.Duration) error {
	p.expected.Store(true)
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	err := p.wait(timeout)
	if errors.Is(err, errStillRunning) {
		return errors.Join(err, p.kill())
	}
	return nil
}
