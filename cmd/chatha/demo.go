package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/demo"
)

// launcher is a whole cluster on this machine: nodes and a proxy as child
// processes of this binary, on one embedded store, behind the demo's front
// door (package demo) on the address the user opens.
type launcher struct {
	bin      string
	dir      string
	secret   string // the nodes' shared create secret, passed in their environment
	children []*demo.Child
	out      io.Writer
}

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chatha demo", flag.ContinueOnError)
	nodes := fs.Int("nodes", 3, "number of chat nodes")
	apiAddr := fs.String("api", "127.0.0.1:8080", "`host:port` of the demo's pages and API; the nodes take the next ports, then the proxy")
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
	// The front's address first, so a port in use stops the demo at once.
	ln, err := net.Listen("tcp", *apiAddr)
	if err != nil {
		return usageError{fmt.Errorf("cannot listen on --api: %w", err)}
	}
	defer ln.Close()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	l := &launcher{bin: bin, dir: *dir, secret: hex.EncodeToString(secret), out: stdout}
	defer l.stop()
	proxyAddr, err := l.start(host, port, *nodes)
	if err != nil {
		return err
	}
	if err := l.serve(ln, proxyAddr); err != nil {
		return err
	}
	l.banner(*apiAddr, proxyAddr, *nodes)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nstopping the demo cluster")
	return nil
}

// serve runs the demo's front door on ln until the process ends: the pages,
// the kill endpoint, and everything else forwarded to the proxy.
func (l *launcher) serve(ln net.Listener, proxyAddr string) error {
	cfg := demo.DefaultConfig()
	cfg.Proxy, cfg.Children = proxyAddr, l.children
	cfg.Log = slog.New(slog.NewTextHandler(l.out, nil))
	front, err := demo.New(cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: front, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go srv.Serve(ln)
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

// start launches the nodes on the ports after port, then the proxy on the
// next one, each gossiping on a free port; it returns the proxy's address.
func (l *launcher) start(host string, port, nodes int) (string, error) {
	store := "sqlite:" + filepath.Join(l.dir, "chatha.db")
	seed := ""
	for i := 1; i <= nodes; i++ {
		gossip, err := freePort(host)
		if err != nil {
			return "", err
		}
		name, addr := "node-"+strconv.Itoa(i), net.JoinHostPort(host, strconv.Itoa(port+i))
		args := []string{"node", "--name", name, "--api", addr, "--gossip", gossip, "--store", store, "--cors-allowed-origins", "*"}
		if seed != "" {
			args = append(args, "--join", seed)
		}
		if err := l.spawn(name, demo.RoleNode, args, addr); err != nil {
			return "", err
		}
		if seed == "" {
			seed = gossip
		}
	}
	gossip, err := freePort(host)
	if err != nil {
		return "", err
	}
	// Any web page may use the demo's chat API from a browser, so a widget
	// served from anywhere on this machine can try it.
	addr := net.JoinHostPort(host, strconv.Itoa(port+nodes+1))
	return addr, l.spawn("proxy", demo.RoleProxy, []string{"proxy", "--name", "proxy", "--api", addr,
		"--gossip", gossip, "--join", seed, "--cors-allowed-origins", "*"}, addr)
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
func (l *launcher) spawn(name, role string, args []string, addr string) error {
	logf, err := os.Create(filepath.Join(l.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(l.bin, args...)
	// The create secret goes in the environment, which other users cannot
	// read, unlike a command line.
	env := append(demoEnv(os.Environ()), envName("create-secret")+"="+l.secret)
	cmd.Stdout, cmd.Stderr, cmd.Env = logf, logf, env
	c, err := demo.Start(name, role, addr, cmd)
	logf.Close() // the child holds its own copy
	if err != nil {
		return err
	}
	l.children = append(l.children, c)
	health, err := api.NewClient(api.ClientConfig{Addr: addr, Timeout: time.Second}) // a child that hangs must not stall the poll
	if err != nil {
		return err
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && c.Running() {
		if _, err := health.Healthz(context.Background()); err == nil {
			fmt.Fprintf(l.out, "  %-7s pid %-7d http://%s   (log %s)\n", name, c.Pid(), addr, logf.Name())
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

func (l *launcher) banner(addr, proxyAddr string, nodes int) {
	fmt.Fprintf(l.out, `
chatha demo: %d chat nodes behind a proxy, on the embedded store in %s

  customer   http://%s/demo/customer
  agent      http://%s/demo/agent
  dashboard  http://%s/dashboard
  cluster    curl -s http://%s/v1/cluster
  start      curl -s -d nickname=Ann -d text=hello http://%s/genesys/2/chat/support

Open the customer page and the agent console side by side, start a chat and
answer it, then press the page's "Kill node-N" button (or "kill -9" next
to the node on the dashboard, or kill -9 PID): the chat moves to another
node and carries on.
Ctrl-C stops the cluster.

The pages are served by this process, which forwards everything else
to the proxy (%s). The demo runs without tokens, gossip key or
TLS, and takes browser requests from every origin (a chat widget on any
page), for this machine only; the README's Security section shows a
secure setup.
`, nodes, l.dir, addr, addr, addr, addr, addr, proxyAddr)
}

// stop ends every child with SIGTERM, then SIGKILL after a grace period.
func (l *launcher) stop() { demo.StopAll(l.children, 8*time.Second) }
