package demo

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// signalOf returns the signal that ended c.
func signalOf(t *testing.T, c *Child) syscall.Signal {
	t.Helper()
	<-c.Done()
	ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		t.Fatalf("%s was not ended by a signal: %v", c.Name, c.cmd.ProcessState)
	}
	return ws.Signal()
}

// TestStopAll: children get SIGTERM, and SIGKILL once the grace period is
// over; StopAll returns when every one has exited.
func TestStopAll(t *testing.T) {
	// A shell that ignores SIGTERM and waits on its open stdin.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	stubborn := exec.Command("sh", "-c", `trap "" TERM; echo ready; read line`)
	stubborn.Stdin = r
	ready, err := stubborn.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start("node-1", RoleNode, "127.0.0.1:1", stubborn)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ready.Read(make([]byte, 6)); err != nil { // the trap is set
		t.Fatal(err)
	}
	polite := sleeper(t, "node-2", RoleNode)
	start := time.Now()
	StopAll([]*Child{s, polite}, 300*time.Millisecond)
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("StopAll returned after %v, before the grace period", took)
	}
	if s.Running() || polite.Running() {
		t.Fatal("a child still runs")
	}
	if sig := signalOf(t, s); sig != syscall.SIGKILL {
		t.Errorf("the child that ignores SIGTERM ended by %v", sig)
	}
	if sig := signalOf(t, polite); sig != syscall.SIGTERM {
		t.Errorf("the other ended by %v", sig)
	}
	if err := polite.Kill(time.Second); !errors.Is(err, ErrExited) {
		t.Errorf("Kill of an exited child: %v", err)
	}
}

func TestStartFails(t *testing.T) {
	if _, err := Start("node-1", RoleNode, "127.0.0.1:1", exec.Command("/nonexistent/chatha")); err == nil {
		t.Fatal("a binary that does not exist started")
	}
}
