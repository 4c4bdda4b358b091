package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
)

// logLine is one line of a JSON log.
type logLine map[string]any

// jsonLines parses every line of out that is a JSON object.
func jsonLines(out string) []logLine {
	var lines []logLine
	for _, l := range strings.Split(out, "\n") {
		var m logLine
		if strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &m) == nil {
			lines = append(lines, m)
		}
	}
	return lines
}

// hasLine reports whether a line has msg and every field of want.
func hasLine(lines []logLine, msg string, want map[string]string) bool {
	for _, l := range lines {
		if l["msg"] != msg {
			continue
		}
		ok := true
		for k, v := range want {
			ok = ok && l[k] == v
		}
		if ok {
			return true
		}
	}
	return false
}

// TestLogsHaveLifecycleAndNoSecrets: a run with tokens and a gossip key,
// nodes logging JSON and the proxy text: chats created, written in by a
// client and an agent, restored on another node and purged on the first,
// failed over after a SIGKILL, ended; a node drained and undrained; then
// everything stopped with SIGTERM. The logs have a line for each lifecycle
// event, with the chat id and the node name, and none of the tokens, the
// gossip key, a secure key, a nickname or a message text.
func TestLogsHaveLifecycleAndNoSecrets(t *testing.T) {
	const clusterToken, agentToken = "cluster-secret-6f1d", "agent-secret-93ab"
	secure := []string{"--cluster-token", clusterToken, "--agent-token", agentToken, "--gossip-key", testGossipKey}
	c := newClusterWith(t, 3, &cluster{nodeArgs: append([]string{"--log-format", "json"}, secure...), proxyArgs: secure})
	pxp := c.addProxy("proxy-1")
	px := pxp.addr
	secrets := []string{clusterToken, agentToken, testGossipKey}
	ctx := context.Background()
	agents, err := api.NewClient(api.ClientConfig{Addr: px, Token: agentToken, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	// Chat A: a client and an agent write; another node restores it and
	// has its home purge it.
	a := createReply(t, px, api.Request{Nickname: "Nick-Quietly-7", Text: "text-first-41c9"})
	ca := chatOf(a)
	secrets = append(secrets, ca.key, "Nick-Quietly-7", "text-first-41c9")
	ag, err := agents.JoinAgent(ctx, ca.id, &api.Request{Nickname: "Agent-Quietly-8"})
	if err != nil || ag.Status != 200 {
		t.Fatalf("agent join: %v %+v", err, ag)
	}
	secrets = append(secrets, ag.SecureKey, "Agent-Quietly-8")
	sendOK(t, px, party{chat{ca.id, ag.UserID, ag.SecureKey}, "agent"}, "text-agent-77e0")
	sendOK(t, px, party{ca, "client"}, "text-client-2b5d")
	secrets = append(secrets, "text-agent-77e0", "text-client-2b5d")
	other := "node-1"
	if a.Node == other {
		other = "node-2"
	}
	if r := ca.do(t, c.nodes[other].addr, "refresh", api.Request{}); r.Status != 200 || r.Alias != other {
		t.Fatalf("refresh on %s: %d %+v", other, r.Status, r)
	}

	// A drain and an undrain, each seen by the proxy.
	for _, step := range [][2]string{{"drain", "draining"}, {"undrain", "active"}} {
		action, mode := step[0], step[1]
		if out, err := ctl(pxp, "--cluster-token", clusterToken, action, "node-3"); err != nil {
			t.Fatalf("%s: %v\n%s", action, err, out)
		}
		waitFor(t, 10*time.Second, "the proxy to see node-3 "+mode, func() bool {
			for _, m := range members(t, pxp) {
				if m.Name == "node-3" && m.State == "alive" && m.Mode == mode {
					return true
				}
			}
			return false
		})
	}

	// Chat B: its node is killed; the proxy fails it over.
	var b *api.Reply
	for b == nil || b.Node == other {
		b = createReply(t, px, api.Request{Nickname: "Nick-Quietly-9", Text: "text-second-c3a1"})
	}
	cb := chatOf(b)
	secrets = append(secrets, cb.key, "Nick-Quietly-9", "text-second-c3a1")
	c.nodes[b.Node].kill(t)
	sendOK(t, px, party{cb, "client"}, "text-after-kill-5e2f")
	secrets = append(secrets, "text-after-kill-5e2f")
	c.waitState(pxp, b.Node+" dead", func(m map[string]string) bool { return m[b.Node] == "dead" })

	for _, ch := range []chat{ca, cb} {
		if r := ch.do(t, px, "disconnect", api.Request{}); r.Status != 200 || !r.ChatEnded {
			t.Fatalf("disconnect: %d %+v", r.Status, r)
		}
	}
	for _, p := range append([]*proc{pxp}, c.nodes[other], c.nodes["node-3"]) {
		if p.running() {
			p.cmd.Process.Signal(syscall.SIGTERM)
			if err := p.wait(t); err != nil {
				t.Fatalf("%s after SIGTERM: %v", p.name, err)
			}
		}
	}

	all := pxp.out.String()
	for _, p := range c.nodes {
		all += p.out.String()
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Fatalf("the logs hold %q:\n%s", s, all)
		}
	}

	home, restorer := c.nodes[a.Node], c.nodes[other]
	checks := []struct {
		p         *proc
		msg       string
		chat, who string // who: the node name field
	}{
		{home, "node started", "", a.Node},
		{home, "chat created", ca.id, a.Node},
		{restorer, "chat restored", ca.id, other},
		{home, "chat purged", ca.id, a.Node},
		{c.nodes["node-3"], "node draining: no new chats", "", "node-3"},
		{c.nodes["node-3"], "node undrained: taking new chats", "", "node-3"},
		{c.nodes[b.Node], "chat created", cb.id, b.Node},
		{restorer, "node stopped", "", other},
	}
	for _, ck := range checks {
		want := map[string]string{"node": ck.who}
		if ck.chat != "" {
			want["chat"] = ck.chat
		}
		if !hasLine(jsonLines(ck.p.out.String()), ck.msg, want) {
			t.Errorf("%s logged no %q line with %v:\n%s", ck.p.name, ck.msg, want, ck.p.out)
		}
	}
	// Which node ends a chat depends on where the proxy's routing sends it.
	if !hasLine(jsonLines(all), "chat restored", map[string]string{"chat": cb.id}) ||
		!hasLine(jsonLines(all), "chat ended", map[string]string{"chat": cb.id}) || !hasLine(jsonLines(all), "chat ended", map[string]string{"chat": ca.id}) {
		t.Errorf("no restore of the failed-over chat %s, or no end of it or of %s, logged", cb.id, ca.id)
	}
	for _, want := range []string{
		`msg="proxy started"`, `msg="member joined" proxy=proxy-1 member=node-1`, `msg="node draining" proxy=proxy-1 member=node-3`,
		`msg="node undrained" proxy=proxy-1 member=node-3`, `msg="member dead" proxy=proxy-1 member=` + b.Node,
		`msg="node failed; routing around it" proxy=proxy-1 node=` + b.Node, `msg="proxy stopped"`,
	} {
		if !strings.Contains(pxp.out.String(), want) {
			t.Errorf("the proxy logged no %s:\n%s", want, pxp.out)
		}
	}
}
