package kubernetes

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildChatha builds the chatha binary of this repository into a
// temporary folder and returns that folder, to be put first in PATH.
func buildChatha(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "chatha"), "./cmd/chatha")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot build chatha: %v\n%s", err, out)
	}
	return dir
}

// syncBuffer is an output buffer that processes and the test share.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a process the test started.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer // stdout and stderr
	done chan struct{}
	err  error // set when done is closed
}

// startProc starts argv with exactly env, in a process group of its own,
// and kills the group (SIGKILL) when the test ends if it still runs: a
// hook's shell may have left children.
func startProc(t testing.TB, name string, argv, env []string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(argv[0], argv[1:]...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.WaitDelay = time.Second // do not wait for a killed group's pipes
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("output of %s (%q):\n%s", name, argv, p.out.String())
		}
	})
	return p
}

func (p *proc) exitedYet() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the process to exit and returns its error.
func (p *proc) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("%s still runs after %v", p.name, timeout)
	}
}

// stop sends SIGTERM and waits up to timeout for a clean exit; it returns
// how long the process took.
func (p *proc) stop(timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("cannot signal %s: %w", p.name, err)
	}
	err := p.wait(timeout)
	return time.Since(start), err
}

// freePort returns a port that is free on 127.0.0.1 for both TCP and UDP,
// as gossip needs both.
func freePort(t testing.TB) int32 {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return int32(port)
		}
	}
	t.Fatal("found no port free for both TCP and UDP")
	return 0
}

// poll calls cond until it returns nil or timeout passes, and returns
// cond's last error.
func poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// basePath is the PATH of the processes: the test's chatha first, then
// the system's folders for sh and timeout.
func basePath(binDir string) string {
	return "PATH=" + binDir + string(os.PathListSeparator) + "/usr/local/bin:/usr/bin:/bin"
}
