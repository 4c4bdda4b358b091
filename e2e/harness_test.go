package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
)

// binary is the chatha binary TestMain builds.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chatha-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "chatha")
	build := exec.Command("go", "build", "-o", binary, "../cmd/chatha")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot build chatha:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// handedOut holds every address freeAddr returned, so no two processes of a
// test run are given the same port.
var handedOut sync.Map

// freeAddr returns a loopback address with a port that was free a moment ago
// and was never handed out before in this run.
func freeAddr(t testing.TB) string {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if _, dup := handedOut.LoadOrStore(addr, true); !dup {
			return addr
		}
	}
}

// proc is a running chatha process.
type proc struct {
	name   string
	addr   string
	gossip string
	health *api.Client // with a short timeout: a process that hangs must not stall a poll
	token  string      // the cluster token it was given, for its operations API
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan error
}

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startNode starts "chatha node" and waits until its API answers.
func startNode(t testing.TB, name, store string, extra ...string) *proc {
	t.Helper()
	return startNodeAt(t, name, freeAddr(t), store, extra...)
}

// startNodeAt starts "chatha node" with its API on addr.
func startNodeAt(t testing.TB, name, addr, store string, extra ...string) *proc {
	t.Helper()
	return startNodeTLS(t, name, addr, store, nil, extra...)
}

// startNodeTLS starts "chatha node" with its API on addr; with cfg, the node
// serves https and is checked with cfg.
func startNodeTLS(t testing.TB, name, addr, store string, cfg *tls.Config, extra ...string) *proc {
	t.Helper()
	args := append([]string{"node", "--name", name, "--api", addr, "--store", store}, extra...)
	p := newProc(name, addr, args...)
	p.cmd.Env = nodeEnv()
	if cfg != nil {
		health, err := api.NewClient(api.ClientConfig{Addr: "https://" + addr, TLS: cfg, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		p.health = health
	}
	p.start(t)
	if err := p.waitHealthy(15 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, p.out)
	}
	return p
}

// testCreateSecret is the create secret of every node the tests start, as
// a deployment gives its nodes one (README, Security): a create that timed
// out on one node and was retried on another is answered there with the
// same chat and key, not refused (409, code 114) as by nodes that each
// picked a random secret.
const testCreateSecret = "e2e-shared-create-secret-0123456789"

// nodeEnv returns the environment of a node process: this process's, with
// CHATHA_CREATE_SECRET set to testCreateSecret unless the test set its own.
func nodeEnv() []string {
	env := os.Environ()
	if _, ok := os.LookupEnv("CHATHA_CREATE_SECRET"); !ok {
		env = append(env, "CHATHA_CREATE_SECRET="+testCreateSecret)
	}
	return env
}

// start starts the process, and kills it when the test ends.
func (p *proc) start(t testing.TB) {
	t.Helper()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.kill(t) })
}

// waitFor polls cond until it holds and returns how long that took; past
// timeout it fails the test, saying what it waited for.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// waitHealthy polls /healthz until it answers, the process exits or timeout passes.
func (p *proc) waitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := p.health.Healthz(context.Background()); err == nil {
			return nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("%s exited at start: %v", p.name, err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer in %v", p.name, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to end.
func (p *proc) kill(t testing.TB) {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(t)
}

func (p *proc) wait(t testing.TB) error {
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("process %s did not end", p.name)
		return nil
	}
}

// clients holds one API client per address a test talks to.
var clients sync.Map

// clientOf returns the API client of the node or proxy at addr.
func clientOf(t testing.TB, addr string) *api.Client {
	t.Helper()
	if c, ok := clients.Load(addr); ok {
		return c.(*api.Client)
	}
	actual, _ := clients.LoadOrStore(addr, apitest.Client(t, addr))
	return actual.(*api.Client)
}

// chat is a client's handle on one chat.
type chat struct{ id, user, key string }

// chatOf returns the handle a create or join answer gives.
func chatOf(r *api.Reply) chat { return chat{r.ChatID, r.UserID, r.SecureKey} }

// createReply creates a chat of service "support" at base.
func createReply(t testing.TB, base string, req api.Request) *api.Reply {
	t.Helper()
	return apitest.Answered(t)(clientOf(t, base).Create(context.Background(), "support", &req))
}

func create(t testing.TB, base string, req api.Request) chat {
	t.Helper()
	r := createReply(t, base, req)
	if r.Status != 200 || r.StatusCode != api.StatusOK {
		t.Fatalf("create: %d %+v", r.Status, r)
	}
	return chatOf(r)
}

// act runs action as the participant c, with req's other fields.
func (c chat) act(t testing.TB, base, action string, req api.Request) (*api.Reply, error) {
	req.UserID, req.SecureKey = c.user, c.key
	return clientOf(t, base).Act(context.Background(), "support", c.id, action, &req)
}

func (c chat) do(t testing.TB, base, action string, req api.Request) *api.Reply {
	t.Helper()
	return apitest.Answered(t)(c.act(t, base, action, req))
}

// lines returns "Type:text" of each message.
func lines(r *api.Reply) []string {
	var out []string
	for _, m := range r.Messages {
		s := m.Type
		if m.Text != "" {
			s += ":" + m.Text
		}
		out = append(out, s)
	}
	return out
}

// runToExit runs chatha with args and env (added to this process's) and
// returns its exit code and output; a process still running after timeout
// is killed and reported as -1.
func runToExit(t testing.TB, timeout time.Duration, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode(), out.String()
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return -1, out.String()
	}
}
