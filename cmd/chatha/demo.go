package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chatha/chatha/api"
)

// demo is a whole cluster on this machine: nodes and a proxy as child
// processes of this binary, on one embedded store.
type demo struct {
	bin    string
	dir    string
	secret string // the nodes' shared create secret, passed in their environment
	procs  []*exec.Cmd
	out    io.Writer
}

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chatha demo", flag.ContinueOnError)
	nodes := fs.Int("nodes", 3, "number of chat nodes")
	apiAddr := fs.String("api", "127.0.0.1:8080", "`host:port` of the proxy; nodes take the next ports")
	dir := fs.String("dir", "./chatha-demo", "`folder` for the store and logs")
	if _, err := parseFlags(fs, args, nil, stderr); err != nil {
		return err
	}
	host, port, err := splitPort(*apiAddr)
	if err != nil || *nodes < 1 || *nodes > 50 {
		return usageError{fmt.Errorf("want --api HOST:PORT and --nodes 1 to 50 (%v)", err)}
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return usageError{fmt.Errorf("cannot create --dir: %w", err)}
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	d := &demo{bin: bin, dir: *dir, secret: hex.EncodeToString(secret), out: stdout}
	defer d.stop()
	if err := d.start(host, port, *nodes); err != nil {
		return err
	}
	d.banner(*apiAddr, host, port, *nodes)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nstopping the demo cluster")
	return nil
}

func splitPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65000 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return host, port, nil
}

// start launches the nodes, then the proxy, each gossiping on a free port.
func (d *demo) start(host string, port, nodes int) error {
	store := "sqlite:" + filepath.Join(d.dir, "chatha.db")
	seed := ""
	for i := 1; i <= nodes; i++ {
		gossip, err := freePort(host)
		if err != nil {
			return err
		}
		args := []string{"node", "--name", "node-" + strconv.Itoa(i), "--api", net.JoinHostPort(host, strconv.Itoa(port+i)),
			"--gossip", gossip, "--store", store, "--cors-allowed-origins", "*"}
		if seed != "" {
			args = append(args, "--join", seed)
		}
		if err := d.spawn("node-"+strconv.Itoa(i), args, net.JoinHostPort(host, strconv.Itoa(port+i))); err != nil {
			return err
		}
		if seed == "" {
			seed = gossip
		}
	}
	gossip, err := freePort(host)
	if err != nil {
		return err
	}
	// Any web page may use the demo's chat API from a browser, so a widget
	// served from anywhere on this machine can try it.
	return d.spawn("proxy", []string{"proxy", "--name", "proxy", "--api", net.JoinHostPort(host, strconv.Itoa(port)),
		"--gossip", gossip, "--join", seed, "--cors-allowed-origins", "*"}, net.JoinHostPort(host, strconv.Itoa(port)))
}

func freePort(host string) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("cannot find a free port on %s: %w", host, err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// spawn starts one child with its output in DIR/NAME.log and waits for its API.
func (d *demo) spawn(name string, args []string, addr string) error {
	logf, err := os.Create(filepath.Join(d.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(d.bin, args...)
	// The create secret goes in the environment, which other users cannot
	// read, unlike a command line.
	env := append(demoEnv(os.Environ()), envName("create-secret")+"="+d.secret)
	cmd.Stdout, cmd.Stderr, cmd.Env = logf, logf, env
	err = cmd.Start()
	logf.Close() // the child holds its own copy
	if err != nil {
		return fmt.Errorf("cannot start %s: %w", name, err)
	}
	d.procs = append(d.procs, cmd)
	health, err := api.NewClient(api.ClientConfig{Addr: addr, Timeout: time.Second}) // a child that hangs must not stall the poll
	if err != nil {
		return err
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := health.Healthz(context.Background()); err == nil {
			fmt.Fprintf(d.out, "  %-7s pid %-7d http://%s   (log %s)\n", name, cmd.Process.Pid, addr, logf.Name())
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New(name + " did not start; see " + logf.Name())
}

// demoEnv is the environment of the demo's children: this one without the
// CHATHA_* variables, so the demo is the same whatever the shell exports
// (tokens or a store meant for a real cluster).
func demoEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CHATHA_") {
			out = append(out, kv)
		}
	}
	return out
}

func (d *demo) banner(addr, host string, port, nodes int) {
	fmt.Fprintf(d.out, `
chatha demo: %d chat nodes behind a proxy, on the embedded store in %s

  dashboard  http://%s/dashboard
  cluster    curl -s http://%s/v1/cluster
  start      curl -s -d nickname=Ann -d text=hello http://%s/genesys/2/chat/support

Kill a node with kill -9 PID and keep chatting through the proxy: the chat moves
to another node and carries on. Ctrl-C stops the cluster.

The demo runs without tokens, gossip key or TLS, and takes browser requests
from every origin (a chat widget on any page), for this machine only; the
README's Security section shows a secure setup.
`, nodes, d.dir, addr, addr, addr)
}

// stop ends every child with SIGTERM, then SIGKILL after a grace period.
func (d *demo) stop() {
	for _, c := range d.procs {
		c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range d.procs {
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(8 * time.Second):
			c.Process.Kill()
			<-done
		}
	}
}
