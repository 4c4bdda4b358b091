package netlab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

var (
	// ErrUnknownMember is returned for a member name the lab does not have.
	ErrUnknownMember = errors.New("unknown lab member")
	// ErrClosed is returned by a lab that was closed.
	ErrClosed = errors.New("lab closed")
)

// Member is one namespace of a lab.
type Member struct {
	// Name is the member's name from Config.Members.
	Name string
	// Namespace is the network namespace's name (for ip netns).
	Namespace string
	// Addr is the member's address, on its eth0.
	Addr netip.Addr

	port string // its bridge port in the hub namespace
}

// Lab is a set of network namespaces on one bridge. Create it with New and
// remove it with Close.
type Lab struct {
	cfg     Config
	ip      string // resolved path of the ip command
	id      string // random suffix of every name
	hub     string // the hub namespace
	subnet  netip.Prefix
	hostIf  string // host end of the host link, "" without one
	members []Member
	byName  map[string]int

	// mu guards created, blocked and closed, and orders changes to the
	// lab's links and rules.
	mu      sync.Mutex
	created []string // namespaces created, in order
	blocked map[[2]int]bool
	closed  bool
}

// New creates a lab as cfg says. On failure it removes whatever it had
// created.
func New(cfg Config) (*Lab, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l, err := newLab(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot create network lab: %w", err)
	}
	if err := l.build(); err != nil {
		err = fmt.Errorf("cannot create network lab %s: %w", l.id, err)
		if cerr := l.Close(); cerr != nil {
			err = fmt.Errorf("%w; and cannot remove it: %w", err, cerr)
		}
		return nil, err
	}
	return l, nil
}

// NewForTest creates a lab for tb, failing tb when it cannot, and closes it
// when tb's cleanup runs, failing tb if anything was left behind.
func NewForTest(tb testing.TB, cfg Config) *Lab {
	tb.Helper()
	l, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Error(err)
		}
	})
	return l
}

func newLab(cfg Config) (*Lab, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("network namespaces need root")
	}
	ip, err := exec.LookPath(cfg.IP)
	if err != nil {
		return nil, fmt.Errorf("cannot find the ip command of iproute2: %w", err)
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("cannot draw a lab id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	l := &Lab{cfg: cfg, ip: ip, id: id, hub: "chatha-" + id + "-hub", byName: map[string]int{}, blocked: map[[2]int]bool{}}
	for i, name := range cfg.Members {
		l.members = append(l.members, Member{Name: name, Namespace: "chatha-" + id + "-" + name, port: fmt.Sprintf("p%d", i)})
		l.byName[name] = i
	}
	return l, nil
}

// ID returns the random suffix every name of the lab carries.
func (l *Lab) ID() string { return l.id }

// Subnet returns the lab's /24.
func (l *Lab) Subnet() netip.Prefix { return l.subnet }

// HostAddr returns the host's address in the lab, invalid without a host link.
func (l *Lab) HostAddr() netip.Addr {
	if l.hostIf == "" {
		return netip.Addr{}
	}
	return hostAddr(l.subnet)
}

// Members returns the lab's members in configuration order.
func (l *Lab) Members() []Member { return append([]Member(nil), l.members...) }

// Member returns the member called name.
func (l *Lab) Member(name string) (Member, error) {
	i, ok := l.byName[name]
	if !ok {
		return Member{}, fmt.Errorf("%w %q", ErrUnknownMember, name)
	}
	return l.members[i], nil
}

// Addr returns the address of member name, invalid for an unknown name.
func (l *Lab) Addr(name string) netip.Addr {
	m, _ := l.Member(name)
	return m.Addr
}

// Command returns a command that runs name with args in member's namespace.
// ip netns exec replaces itself with the program, so the command's process
// is the program's: signals sent to it reach the program. The caller starts,
// stops and waits for it.
func (l *Lab) Command(ctx context.Context, member, name string, args ...string) (*exec.Cmd, error) {
	m, err := l.Member(member)
	if err != nil {
		return nil, err
	}
	return exec.CommandContext(ctx, l.ip, append([]string{"netns", "exec", m.Namespace, name}, args...)...), nil
}

// run runs the ip command with args, bounded by the command timeout.
func (l *Lab) run(args ...string) error {
	_, err := l.output(args...)
	return err
}

// output runs the ip command with args and returns its standard output.
func (l *Lab) output(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.ip, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot run ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
