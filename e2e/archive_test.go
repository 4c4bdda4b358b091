package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/archive"
	chatpkg "github.com/chatha/chatha/chat"
)

const webhookSecret = "webhook-secret-5a1c-0f93-77de"

// archiveReceiver is a real HTTP server on loopback that takes the
// webhook's deliveries. It verifies each one's signature, idempotency key
// and body, and counts the ones it answered 200, by chat. The first
// delivery is held, unanswered, until release is closed or its sender's
// connection drops; it is not counted.
type archiveReceiver struct {
	t       *testing.T
	srv     *httptest.Server
	held    chan [2]string // the chat and the node of the first delivery
	release chan struct{}
	first   sync.Once

	mu sync.Mutex // guards got, by and bodies
	// got counts each chat's deliveries answered 200.
	got map[string]int
	// by lists the nodes that delivered each chat.
	by map[string][]string
	// bodies keeps each chat's last delivered body.
	bodies map[string][]byte
}

func newArchiveReceiver(t *testing.T) *archiveReceiver {
	r := &archiveReceiver{t: t, held: make(chan [2]string, 1), release: make(chan struct{}), got: map[string]int{}, by: map[string][]string{}, bodies: map[string][]byte{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.unblock()
		r.srv.Close()
	})
	return r
}

func (r *archiveReceiver) unblock() {
	select {
	case <-r.release:
	default:
		close(r.release)
	}
}

func (r *archiveReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	id := req.Header.Get("Idempotency-Key")
	if err := archive.Verify([]byte(webhookSecret), req.Header.Get(archive.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		r.t.Errorf("delivery of %s: %v", id, err)
	}
	var tr chatpkg.Transcript
	if err := json.Unmarshal(body, &tr); err != nil || tr.ChatID != id || id == "" {
		r.t.Errorf("delivery with Idempotency-Key %q: transcript of %q, %v", id, tr.ChatID, err)
	}
	isFirst := false
	r.first.Do(func() { isFirst = true })
	if isFirst {
		r.held <- [2]string{id, req.Header.Get("X-Chatha-Node")}
		select {
		case <-r.release:
		case <-req.Context().Done():
		}
		return // its sender is gone: not counted
	}
	r.mu.Lock()
	r.got[id]++
	r.by[id] = append(r.by[id], req.Header.Get("X-Chatha-Node"))
	r.bodies[id] = body
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (r *archiveReceiver) delivered(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[id]
}

// TestWebhookDeliversEveryTranscriptDespiteKill: two node processes on one
// store, each with the archive webhook. Ten chats end, half on each node.
// The receiver holds the first delivery unanswered; once every final
// transcript is saved, the node delivering it is killed with SIGKILL. The
// other node delivers every transcript, the held one and the dead node's
// others included: none is lost, each arrives signed with its chat id as
// idempotency key and the body the admin API exports, and the outbox
// ends empty.
func TestWebhookDeliversEveryTranscriptDespiteKill(t *testing.T) {
	recv := newArchiveReceiver(t)
	store, path := sqliteFile(t)
	if u := storeURL(t); !strings.HasPrefix(u, "sqlite:") {
		store, path = u, ""
	}
	const token = "cluster-secret-archive"
	args := []string{"--transcript-webhook-url", recv.srv.URL + "/chats", "--transcript-webhook-secret", webhookSecret,
		"--transcript-webhook-timeout", "3s", "--cluster-token", token, "--log-format", "json"}
	nodes := map[string]*proc{"a": startNode(t, "a", store, args...), "b": startNode(t, "b", store, args...)}
	for _, p := range nodes {
		p.token = token
	}
	var ids []string
	for i := range 10 {
		p := nodes[[]string{"a", "b"}[i%2]]
		c := create(t, p.addr, api.Request{Nickname: "Ann", Text: fmt.Sprintf("hello %d", i)})
		if r := c.do(t, p.addr, "disconnect", api.Request{}); !r.ChatEnded {
			t.Fatalf("disconnect: %+v", r)
		}
		ids = append(ids, c.id)
	}
	var held [2]string
	select {
	case held = <-recv.held:
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery reached the receiver")
	}
	heldID, sender := held[0], held[1]
	victim, ok := nodes[sender]
	if !ok {
		t.Fatalf("the first delivery names node %q", sender)
	}
	survivor := nodes["a"]
	if sender == "a" {
		survivor = nodes["b"]
	}
	exported := map[string][]byte{}
	waitFor(t, 20*time.Second, "every final transcript saved", func() bool {
		for _, id := range ids {
			if exported[id] != nil {
				continue
			}
			data, err := opsClient(t, survivor).Transcript(context.Background(), id)
			if err != nil {
				return false
			}
			exported[id] = data
		}
		return true
	})
	victim.kill(t)
	recv.unblock()
	waitFor(t, 60*time.Second, "every transcript delivered by the survivor", func() bool {
		for _, id := range ids {
			if recv.delivered(id) == 0 {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		recv.mu.Lock()
		body := recv.bodies[id]
		recv.mu.Unlock()
		if string(body) != string(exported[id]) {
			t.Errorf("%s: delivered %q, exported %q", id, body, exported[id])
		}
	}
	recv.mu.Lock()
	heldBy := recv.by[heldID]
	recv.mu.Unlock()
	if !strings.Contains(strings.Join(heldBy, ","), survivor.name) {
		t.Errorf("the held transcript was delivered by %v, not by the survivor %s once the victim's lease ran out", heldBy, survivor.name)
	}
	outbox := openStoreURL(t, store)
	waitFor(t, 20*time.Second, "the outbox empty", func() bool {
		due, err := outbox.DueDeliveries(context.Background(), time.Now().Add(24*time.Hour), 10)
		return err == nil && len(due) == 0
	})
	if path != "" && tableRows(t, path, "outbox") != 0 {
		t.Errorf("the outbox table holds rows though no delivery is due")
	}
	if !strings.Contains(survivor.out.String(), "transcript delivered to the archive webhook") ||
		strings.Contains(survivor.out.String()+victim.out.String(), webhookSecret) {
		t.Fatalf("the survivor's logs:\n%s", survivor.out.String())
	}
}

// tableRows counts the rows of a table of the SQLite file at path.
func tableRows(t testing.TB, path, table string) int {
	t.Helper()
	var n int
	if err := openFile(t, path).QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
