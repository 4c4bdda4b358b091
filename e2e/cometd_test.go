package e2e

import (
	"testing"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/cometd/cometdtest"
)

// TestCometDResumeAfterKills drives a CometD client through real processes,
// over each transport: handshake, connect, requestChat through one proxy
// while an agent writes through the other; the node serving the chat is
// killed with SIGKILL, and the client sees nothing of it but the restore
// notices (its pump fails over behind the proxy); then its proxy is killed,
// the client moves to the other proxy (as a load balancer sends it there),
// is answered 402::Unknown client with advice to handshake again, does, and
// resumes with requestNotifications from the position after the last event
// it had. Every event reaches it once, in order, what was written while it
// had no session included, and no notification is an error.
func TestCometDResumeAfterKills(t *testing.T) {
	for _, ws := range []bool{false, true} {
		t.Run(map[bool]string{false: "long-polling", true: "websocket"}[ws], func(t *testing.T) {
			// A killed node is failed over on its broken connection; the long
			// request timeout only keeps a loaded machine from failing nodes over.
			c := newClusterWith(t, 3, &cluster{proxyArgs: []string{"--request-timeout", "10s"}})
			pa, pb := c.addProxy("proxy-a"), c.addProxy("proxy-b")
			b := cometdtest.NewClient(t, "http://"+pa.addr+"/genesys/cometd", ws)
			if r := b.Handshake(); !r.OK() {
				t.Fatalf("handshake: %+v", r)
			}
			b.FirstConnect()
			r := b.Op("support", map[string]any{"operation": "requestChat", "nickname": "Ann"})
			if r.StatusCode != api.StatusOK || r.ChatID == "" || r.Alias == "" {
				t.Fatalf("requestChat: %+v", r)
			}
			agent := joinAgent(t, pb.addr, chat{r.ChatID, r.UserID, r.SecureKey}, "Bob")
			sendOK(t, pb.addr, agent, "one")
			b.Until("the agent's first message", func() bool { return hasText(b, "one") })

			c.nodes[r.Alias].kill(t)
			t.Logf("killed %s, which served the chat", r.Alias)
			sendOK(t, pb.addr, agent, "two")
			b.Until("the agent's message after the node's kill", func() bool { return hasText(b, "two") })
			b.CheckNoErrors()

			pa.kill(t)
			sendOK(t, pb.addr, agent, "three") // while the client has no session anywhere
			b.MoveTo("http://" + pb.addr + "/genesys/cometd")
			b.Expect402()
			if res := b.Resume("support", r); res.StatusCode != api.StatusOK || res.ChatEnded == nil || *res.ChatEnded {
				t.Fatalf("requestNotifications: %+v", res)
			}
			b.Until("the message written while the client had no session", func() bool { return hasText(b, "three") })
			sendOK(t, pb.addr, agent, "four")
			b.Until("the agent's message after the resume", func() bool { return hasText(b, "four") })

			b.CheckOnceInOrder(b.LastIndex())
			b.CheckNoErrors()
			lines, _ := transcript(t, pb.addr, agent.chat)
			if len(lines) != b.LastIndex() {
				t.Fatalf("the client had %d events, the transcript holds %d:\n%v", b.LastIndex(), len(lines), lines)
			}
			checkAcked(t, lines, []string{"one", "two", "three", "four"})
		})
	}
}

// hasText reports whether the client had a message with text.
func hasText(b *cometdtest.Client, text string) bool {
	for _, ix := range b.Indexes {
		if e := b.Event(ix); e.Type == "Message" && e.Text == text {
			return true
		}
	}
	return false
}
