package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	chatdomain "github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/sqlite"
)

// traffic is the steady chat traffic of the rolling upgrade: client loops
// that each create a chat through the proxy, have the agent join it, send
// numbered messages and end it, over and over, so a draining node empties.
type traffic struct {
	px     string
	agent  chan agentJob
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex             // guards acked, errs and chats
	acked  map[string][][2]string // chat id -> acknowledged (sender, text), in order
	errs   []string
	chats  int
	client *api.Client
}

// agentJob asks the agent to join a chat and write in it; done is closed after.
type agentJob struct {
	c    chat
	done chan struct{}
}

// fail records what a client saw that it should not have.
func (tr *traffic) fail(format string, args ...any) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.errs = append(tr.errs, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
}

// ok reports whether a call answered 200 with statusCode 0; else it records why.
func (tr *traffic) ok(what string, r *api.Reply, err error) bool {
	switch {
	case err != nil:
		tr.fail("%s: %v", what, err)
	case r.Status != 200 || r.StatusCode != api.StatusOK:
		tr.fail("%s: HTTP %d statusCode %d %+v", what, r.Status, r.StatusCode, r.Errors)
	default:
		return true
	}
	return false
}

func (tr *traffic) ack(id, sender, text string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.acked[id] = append(tr.acked[id], [2]string{sender, text})
}

// clientLoop runs chats until stop.
func (tr *traffic) clientLoop(n int) {
	defer tr.wg.Done()
	seq := 0
	for {
		select {
		case <-tr.stop:
			return
		default:
		}
		tr.runChat(n, &seq)
	}
}

// chatMessages is how many messages a client sends in one chat, and
// messageEvery the pace: a chat lasts about a third of a second, so a
// drained node holds chats for a moment and must wait for them to end.
const (
	chatMessages = 10
	messageEvery = 30 * time.Millisecond
)

// runChat runs one chat: create, the agent joins, chatMessages messages
// (the agent writes after the second), end. A chat whose create worked is ended
// whatever happens, so a draining node empties.
func (tr *traffic) runChat(n int, seq *int) {
	ctx := context.Background()
	r, err := tr.client.Create(ctx, "support", &api.Request{Nickname: fmt.Sprint("client-", n)})
	if !tr.ok("create", r, err) {
		return
	}
	c := chatOf(r)
	tr.mu.Lock()
	tr.chats++
	tr.acked[c.id] = nil
	tr.mu.Unlock()
	defer tr.end(c)
	job := agentJob{c, make(chan struct{})}
	select {
	case tr.agent <- job:
	case <-tr.stop:
		return
	}
	for k := 0; k < chatMessages; k++ {
		time.Sleep(messageEvery) // the pace of a person typing, not a wait for a condition
		*seq++
		text := fmt.Sprintf("c%d-m%d", n, *seq)
		r, err := tr.client.Act(ctx, "support", c.id, "send", &api.Request{UserID: c.user, SecureKey: c.key, Message: text})
		if !tr.ok("send "+text, r, err) {
			return
		}
		tr.ack(c.id, "client", text)
		if k == 1 {
			<-job.done
		}
	}
}

// end disconnects the client, which ends the chat.
func (tr *traffic) end(c chat) {
	r, err := tr.client.Act(context.Background(), "support", c.id, "disconnect", &api.Request{UserID: c.user, SecureKey: c.key})
	switch {
	case err != nil:
		tr.fail("disconnect: %v", err)
	case r.Status != 200 || !r.ChatEnded: // the node answers an ended chat with statusCode 2
		tr.fail("disconnect: HTTP %d chatEnded %v %+v", r.Status, r.ChatEnded, r.Errors)
	}
}

// agentLoop joins each chat it is given and writes one numbered message.
func (tr *traffic) agentLoop() {
	defer tr.wg.Done()
	ctx := context.Background()
	for n := 0; ; n++ {
		var job agentJob
		select {
		case job = <-tr.agent:
		case <-tr.stop:
			return
		}
		r, err := tr.client.JoinAgent(ctx, job.c.id, &api.Request{Nickname: "agent"})
		if tr.ok("agent join", r, err) {
			text := fmt.Sprintf("agent-m%d", n)
			r, err = tr.client.Act(ctx, "support", job.c.id, "send", &api.Request{UserID: r.UserID, SecureKey: r.SecureKey, Message: text})
			if tr.ok("agent send "+text, r, err) {
				tr.ack(job.c.id, "agent", text)
			}
		}
		close(job.done)
	}
}

// TestRollingUpgrade drains three nodes in turn under steady traffic
// through the proxy (four client loops and an agent): chatha ctl drain NAME
// --wait returns once the node's chats have ended, the node is stopped with
// SIGTERM and a new process starts under its name; then the next node. No
// client sees an error, and the final transcript of every chat holds every
// acknowledged message once, in order.
func TestRollingUpgrade(t *testing.T) {
	secure := []string{"--cluster-token", "c-secret", "--gossip-key", testGossipKey}
	dbPath := filepath.Join(t.TempDir(), "rolling.db")
	c := newClusterWith(t, 3, &cluster{nodeArgs: secure, proxyArgs: secure, store: "sqlite:" + dbPath})
	pxp := c.addProxy("proxy-1")
	tr := &traffic{px: pxp.addr, agent: make(chan agentJob), stop: make(chan struct{}), acked: map[string][][2]string{},
		client: clientOf(t, pxp.addr)}
	const clients = 6
	tr.wg.Add(clients + 1)
	go tr.agentLoop()
	for i := range clients {
		go tr.clientLoop(i)
	}
	stopped := false
	stopTraffic := func() {
		if !stopped {
			stopped = true
			close(tr.stop)
			tr.wg.Wait()
		}
	}
	t.Cleanup(stopTraffic)

	drainedChats := 0 // drains that began with chats to wait for
	for _, name := range []string{"node-1", "node-2", "node-3"} {
		start := time.Now()
		waitFor(t, 20*time.Second, "chats on "+name, func() bool { return nodeSessions(t, pxp, name) > 0 || time.Since(start) > 2*time.Second })
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err := exec.CommandContext(ctx, binary, "ctl", "--proxy", "http://"+pxp.addr, "--cluster-token", "c-secret", "drain", name, "--wait").CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(out), "drained") {
			t.Fatalf("drain %s --wait: %v\n%s", name, err, out)
		}
		drained := time.Since(start)
		if m := regexp.MustCompile(`(\d+) chats left`).FindStringSubmatch(string(out)); m != nil && m[1] != "0" {
			drainedChats++
		}
		old := c.nodes[name]
		old.cmd.Process.Signal(syscall.SIGTERM)
		if err := old.wait(t); err != nil {
			t.Fatalf("%s after SIGTERM: %v\n%s", name, err, old.out)
		}
		p := c.restartNode(name)
		c.waitIncarnation(pxp, p)
		waitFor(t, 20*time.Second, name+" active in the proxy's view", func() bool {
			for _, m := range members(t, pxp) {
				if m.Name == name && m.Incarnation == incarnation(t, p) && m.State == "alive" && m.Mode == "active" {
					return true
				}
			}
			return false
		})
		t.Logf("%s: drained in %v, replaced in %v; %d chats so far; ctl said: %s", name, drained, time.Since(start), tr.chatCount(),
			strings.Join(strings.Fields(strings.ReplaceAll(string(out), "\r", "\n")), " "))
	}
	waitFor(t, 20*time.Second, "chats on the new node-3", func() bool {
		if errs := tr.errors(); len(errs) > 0 {
			t.Fatalf("clients saw %d errors, first: %s\nproxy log:\n%s", len(errs), errs[0], pxp.out)
		}
		return nodeSessions(t, pxp, "node-3") > 0
	})
	stopTraffic()
	if drainedChats == 0 {
		t.Fatal("no drain had chats to wait for: the traffic is too light to test a drain")
	}

	if len(tr.errs) > 0 {
		t.Fatalf("clients saw %d errors, first: %s", len(tr.errs), strings.Join(tr.errs[:min(len(tr.errs), 5)], "\n"))
	}
	checkFinalTranscripts(t, dbPath, tr)
}

func (tr *traffic) errors() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.errs)
}

func (tr *traffic) chatCount() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.chats
}

// nodeSessions returns the live chats of the node called name, as the proxy's view shows.
func nodeSessions(t *testing.T, px *proc, name string) int {
	for _, m := range members(t, px) {
		if m.Name == name && m.State == "alive" {
			return m.Sessions
		}
	}
	return 0
}

// checkFinalTranscripts reads every chat's final transcript from the store
// and checks that each sender's acknowledged messages are its messages
// there, once each and in order.
func checkFinalTranscripts(t *testing.T, dbPath string, tr *traffic) {
	t.Helper()
	store, err := sqlite.Open(sqlite.DefaultConfig(dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	messages := 0
	for id, acked := range tr.acked {
		var final chatdomain.Transcript
		waitFor(t, 10*time.Second, "the final transcript of "+id, func() bool {
			b, err := store.Transcript(ctx, id)
			return err == nil && json.Unmarshal(b, &final) == nil
		})
		for _, sender := range []string{"client", "agent"} {
			var want, got []string
			for _, a := range acked {
				if a[0] == sender {
					want = append(want, a[1])
				}
			}
			for _, m := range final.Messages {
				if m.Type == "Message" && (m.From.Type == "Agent") == (sender == "agent") {
					got = append(got, m.Text)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("chat %s: the %s's messages in the final transcript are %v, acknowledged %v", id, sender, got, want)
			}
			messages += len(want)
		}
	}
	if len(tr.acked) < 20 {
		t.Fatalf("only %d chats ran during the upgrade", len(tr.acked))
	}
	t.Logf("%d chats, %d acknowledged messages, all in their final transcripts once and in order", len(tr.acked), messages)
}
