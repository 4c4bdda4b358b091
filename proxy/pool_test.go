package proxy_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
	"github.com/chatha/chatha/cometd"
	"github.com/chatha/chatha/proxy"
)

// holdingNode is a node's stand-in that holds every refresh asking for a
// wait (cometd.WaitHeader), and every send, until release is closed, and
// answers anything else at once. It counts what it got.
type holdingNode struct {
	release       chan struct{}
	held, unheld  atomic.Int64 // refreshes with and without a wait
	sends, others atomic.Int64
}

func newHoldingNode() *holdingNode { return &holdingNode{release: make(chan struct{})} }

func (h *holdingNode) serve(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	switch {
	case strings.HasSuffix(path, "/refresh") && len(ctx.Request.Header.Peek(cometd.WaitHeader)) > 0:
		h.held.Add(1)
		<-h.release
	case strings.HasSuffix(path, "/refresh"):
		h.unheld.Add(1)
	case strings.HasSuffix(path, "/send"):
		h.sends.Add(1)
		<-h.release
	default:
		h.others.Add(1)
	}
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"statusCode":0,"messages":[]}`)
}

// heldRefresh sends a refresh of chat id to the proxy at addr, asking it to be
// held for wait (0: not held), and returns the HTTP status.
func heldRefresh(t *testing.T, addr, id string, wait time.Duration) int {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + "/genesys/2/chat/support/" + id + "/refresh")
	req.Header.SetMethod(http.MethodPost)
	req.Header.SetContentType("application/x-www-form-urlencoded")
	req.SetBodyString("userId=u&secureKey=k&transcriptPosition=1")
	if wait > 0 {
		req.Header.Set(cometd.WaitHeader, wait.String())
	}
	if err := fasthttp.DoTimeout(req, resp, 30*time.Second); err != nil {
		t.Errorf("refresh: %v", err)
		return 0
	}
	return resp.StatusCode()
}

// TestHeldRefreshesPastTheLimitAreNotHeld: held refreshes to a node go on
// connections of their own, at most MaxHeldConns at once; one more is sent
// without its wait, and the node answers it at once (its pump polls), while
// the held ones stay held; and held refreshes never take the connections
// of other requests (MaxConns 1 here): a send gets through meanwhile.
func TestHeldRefreshesPastTheLimitAreNotHeld(t *testing.T) {
	node := newHoldingNode()
	p, addr, id, others := twoBackends(t, node.serve, "", func(cfg *proxy.Config) {
		cfg.MaxConns, cfg.MaxHeldConns = 1, 2
	})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if status := heldRefresh(t, addr, id, 20*time.Second); status != 200 {
				t.Errorf("held refresh: %d", status)
			}
		})
	}
	released := false
	defer func() {
		if !released {
			close(node.release)
		}
		wg.Wait()
	}()
	poll(t, 10*time.Second, "two refreshes held", func() bool { return node.held.Load() == 2 })

	start := time.Now()
	if status := heldRefresh(t, addr, id, 20*time.Second); status != 200 {
		t.Fatalf("a third held refresh: %d", status)
	}
	if took := time.Since(start); node.unheld.Load() != 1 || node.held.Load() != 2 || took > 10*time.Second {
		t.Fatalf("a third held refresh: the node got %d held and %d unheld, answered in %v; want it sent unheld and answered at once",
			node.held.Load(), node.unheld.Load(), took)
	}
	if got := metricOf(t, addr, "chatha_proxy_unheld_refreshes_total"); got != 1 {
		t.Fatalf("chatha_proxy_unheld_refreshes_total = %v, want 1", got)
	}
	if got := metricOf(t, addr, "chatha_proxy_held_refreshes"); got != 2 {
		t.Fatalf("chatha_proxy_held_refreshes = %v, want 2", got)
	}

	sent := make(chan *api.Reply, 1)
	go func() {
		r, err := apitest.Client(t, addr).Act(context.Background(), "support", id, "send", &api.Request{UserID: "u", SecureKey: "k", Message: "hi"})
		if err != nil {
			t.Errorf("send: %v", err)
		}
		sent <- r
	}()
	poll(t, 10*time.Second, "the send at the node beside the held refreshes", func() bool { return node.sends.Load() == 1 })
	close(node.release)
	released = true
	if r := <-sent; r == nil || r.Status != 200 {
		t.Fatalf("send beside the held refreshes: %+v", r)
	}
	wg.Wait()
	if others.Load() != 0 || isBroken(p, "home") {
		t.Fatalf("the other node got %d requests, home broken %v; want none and false", others.Load(), isBroken(p, "home"))
	}
}

// TestBusyNodeIsNotFailed: when MaxConns requests to a node are under way,
// one more is answered 503 with statusCode 1 (retry) and its own code,
// at once; the node is not taken for failed and the request is not sent
// to another node, which would restore the chat there.
func TestBusyNodeIsNotFailed(t *testing.T) {
	node := newHoldingNode()
	p, addr, id, others := twoBackends(t, node.serve, "", func(cfg *proxy.Config) { cfg.MaxConns = 1 })
	pc := apitest.Client(t, addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if r, err := pc.Act(context.Background(), "support", id, "send", &api.Request{UserID: "u", SecureKey: "k", Message: "hi"}); err != nil || r.Status != 200 {
			t.Errorf("the send under way: %v %+v", err, r)
		}
	}()
	defer func() { <-done }()
	defer close(node.release)
	poll(t, 10*time.Second, "the send at the node", func() bool { return node.sends.Load() == 1 })
	r := apitest.Answered(t)(pc.Refresh(context.Background(), "support", id, &api.Request{UserID: "u", SecureKey: "k"}))
	if r.Status != 503 || r.StatusCode != api.StatusRetry || len(r.Errors) != 1 || r.Errors[0].Code != api.CodeBusy {
		t.Fatalf("a refresh past MaxConns: %d %+v, want 503, statusCode 1, code %d", r.Status, r.Answer, api.CodeBusy)
	}
	if others.Load() != 0 || isBroken(p, "home") || node.unheld.Load() != 0 {
		t.Fatalf("the other node got %d requests, home broken %v, home got %d refreshes; want none, false, none",
			others.Load(), isBroken(p, "home"), node.unheld.Load())
	}
}
