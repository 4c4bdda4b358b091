package demo

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// Roles of the demo's children.
const (
	// RoleNode is a chat node, which the front may kill.
	RoleNode = "node"
	// RoleProxy is the demo's proxy, which carries every request of the front.
	RoleProxy = "proxy"
)

// Errors of the children.
var (
	// ErrExited is returned for a child that has already exited.
	ErrExited = errors.New("the process has already exited")
)

// Child is one process of the demo cluster, started by Start.
type Child struct {
	// Name is the member name of the child (node-1, proxy).
	Name string
	// Role is RoleNode or RoleProxy.
	Role string
	// Addr is the host:port of its API.
	Addr string

	cmd  *exec.Cmd
	done chan struct{} // closed once the child has exited and was reaped
}

// Start starts cmd as the demo's child name, with its output where cmd
// sends it, and reaps it when it exits. On Linux the child gets SIGTERM
// if the demo's process dies first.
func Start(name, role, addr string, cmd *exec.Cmd) (*Child, error) {
	endWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	c := &Child{Name: name, Role: role, Addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// Pid returns the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Running reports whether the child has not exited.
func (c *Child) Running() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Done is closed once the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Kill sends the child SIGKILL, as a crash would end it, and waits up to
// wait for it to exit.
func (c *Child) Kill(wait time.Duration) error {
	if !c.Running() {
		return ErrExited
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("cannot kill %s: %w", c.Name, err)
	}
	select {
	case <-c.done:
	case <-time.After(wait):
	}
	return nil
}

// StopAll sends every child SIGTERM, so each shuts down cleanly, and
// SIGKILL to any still running after grace; it returns once all exited.
func StopAll(children []*Child, grace time.Duration) {
	for _, c := range children {
		if c.Running() {
			c.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	late := false // the grace period is over: kill the rest
	for _, c := range children {
		if !late {
			select {
			case <-c.done:
				continue
			case <-timer.C:
				late = true
			}
		}
		c.cmd.Process.Kill()
		<-c.done
	}
}
