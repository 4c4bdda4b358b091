package e2e

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
)

// testGossipKey is a gossip key of the tests (AES-256).
var testGossipKey = base64.StdEncoding.EncodeToString([]byte("chatha-e2e-gossip-key-32-bytes!!"))

// TestTokenWithoutGossipKeyExitsTwo: a node or proxy given a token, on the
// command line or in its environment, refuses to gossip without a key: one
// line on stderr, exit code 2.
func TestTokenWithoutGossipKeyExitsTwo(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
	}{
		{"node with a cluster token", nil, []string{"node", "--cluster-token", "secret"}},
		{"node with an agent token from the environment", []string{"CHATHA_AGENT_TOKEN=secret"}, []string{"node"}},
		{"proxy with a cluster token", nil, []string{"proxy", "--cluster-token", "secret"}},
		{"proxy with an agent token", nil, []string{"proxy", "--agent-token", "secret"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--name", "x", "--api", freeAddr(t), "--gossip", freeAddr(t), "--store", storeURL(t))
			if tc.args[0] == "proxy" {
				args = args[:len(args)-2] // a proxy has no store
			}
			code, out := runToExit(t, 15*time.Second, tc.env, args...)
			if code != 2 || !strings.Contains(out, "needs --gossip-key") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Fatalf("exit %d, want 2 and one line about --gossip-key; output:\n%s", code, out)
			}
			if strings.Contains(out, "secret") {
				t.Fatalf("the token was printed: %s", out)
			}
		})
	}
}

// TestStartupWarnings: a node and a proxy print one warning line for each
// listener that accepts unauthenticated requests, and none once each is
// guarded.
func TestStartupWarnings(t *testing.T) {
	store := storeURL(t)
	all := []string{"admin API accepts unauthenticated", "agent API accepts unauthenticated", "gossip accepts unauthenticated"}
	guarded := []string{"--cluster-token", "c-secret", "--agent-token", "a-secret", "--gossip-key", testGossipKey}
	tests := []struct {
		name  string
		flags []string
		want  []string
	}{
		{"open", nil, all},
		{"guarded", guarded, nil},
		{"agent API open", []string{"--cluster-token", "c-secret", "--gossip-key", testGossipKey}, all[1:2]},
		{"only gossip guarded", []string{"--gossip-key", testGossipKey}, all[:2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := freeAddr(t)
			n := startNode(t, "n-"+strings.ReplaceAll(tc.name, " ", "-"), store, append([]string{"--gossip", g}, tc.flags...)...)
			addr := freeAddr(t)
			px := newProc("proxy", addr, append([]string{"proxy", "--name", "p", "--api", addr, "--gossip", freeAddr(t), "--join", g}, tc.flags...)...)
			px.start(t)
			if err := px.waitHealthy(15 * time.Second); err != nil {
				t.Fatalf("%v\n%s", err, px.out)
			}
			for _, p := range []*proc{n, px} {
				// Healthy is not enough: the output comes through a pipe, and
				// the start-up line follows the warnings in it.
				started := `msg="` + p.cmd.Args[1] + ` started"`
				waitFor(t, 10*time.Second, p.name+"'s start-up line", func() bool { return strings.Contains(p.out.String(), started) })
				checkWarnings(t, p.name, p.out.String(), tc.want)
			}
		})
	}
}

// checkWarnings fails unless out has exactly one WARN line for each of want.
func checkWarnings(t *testing.T, who, out string, want []string) {
	t.Helper()
	var warns []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "level=WARN") {
			warns = append(warns, l)
		}
	}
	if len(warns) != len(want) {
		t.Fatalf("%s printed %d warnings, want %d (%q):\n%s", who, len(warns), len(want), want, out)
	}
	for _, w := range want {
		if !strings.Contains(strings.Join(warns, "\n"), w) {
			t.Fatalf("%s did not warn %q:\n%s", who, w, out)
		}
	}
}

// TestRogueMemberCannotJoin: a process without the gossip key cannot join a
// keyed cluster: it never shows in the proxy's cluster view and gets no chat.
func TestRogueMemberCannotJoin(t *testing.T) {
	keyed := []string{"--gossip-key", testGossipKey, "--cluster-token", "c-secret", "--agent-token", "a-secret"}
	c := newClusterWith(t, 2, &cluster{nodeArgs: keyed, proxyArgs: keyed})
	px := c.addProxy("proxy-1")
	rogue := newProc("rogue", freeAddr(t), "node", "--name", "rogue", "--api", freeAddr(t), "--store", c.store,
		"--gossip", freeAddr(t), "--join", c.seed)
	rogue.start(t)
	for i := 0; rogue.running(); i++ {
		if i == 0 || i%10 == 0 {
			for _, m := range members(t, px) {
				if m.Name == "rogue" {
					t.Fatalf("the rogue is a member: %+v", m)
				}
			}
			r := createReply(t, px.addr, api.Request{Nickname: fmt.Sprint("Ann ", i)})
			if r.Status != 200 || r.Node == "rogue" {
				t.Fatalf("create while the rogue tries to join: %d on %q", r.Status, r.Node)
			}
		}
		if i > 1500 {
			t.Fatalf("the rogue still runs after 30 s:\n%s", rogue.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(rogue.out.String(), "cannot join") {
		t.Fatalf("the rogue ended without failing to join:\n%s", rogue.out)
	}
	for _, m := range members(t, px) {
		if m.Name == "rogue" {
			t.Fatalf("the rogue is a member: %+v", m)
		}
	}
}
