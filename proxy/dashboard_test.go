package proxy_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/membership/membertest"
	"github.com/chatha/chatha/proxy"
	"github.com/chatha/chatha/sqlite"
)

// fetch sends GET path to addr, with token as a bearer token when set, and
// returns the answer's status, body and headers.
func fetch(t *testing.T, addr, path, token string) (int, string, *fasthttp.ResponseHeader) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), &fasthttp.Response{}
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("http://" + addr + path)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode(), string(resp.Body()), &resp.Header
}

// pollUntil polls cond until it returns "", and fails the test with its
// last answer after timeout.
func pollUntil(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	why := ""
	defer func() {
		if t.Failed() {
			t.Logf("the last answer: %s", why)
		}
	}()
	poll(t, timeout, "the dashboard", func() bool { why = cond(); return why == "" })
}

// TestDashboard: the dashboard's data, the page and the metrics need the
// cluster token; they show every member with its share of the ring, the
// events, the history of requests; and a member that leaves is shown left,
// its share goes to the others, and its metric series disappear.
func TestDashboard(t *testing.T) {
	store, err := sqlite.Open(sqlite.DefaultConfig(filepath.Join(t.TempDir(), "c.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	c := &cluster{stops: map[string]func(){}, kills: map[string]func(){}}
	seed := c.addNode(t, "a", store, nil)
	c.addNode(t, "b", store, seed)
	leaver := membertest.Join(t, "c", membership.RoleNode, "127.0.0.1:1", 0, seed) // gossips, serves nothing
	const token = "dash-token"
	c.proxy = startProxy(t, seed, 3, 0, func(cfg *proxy.Config) { cfg.ClusterToken, cfg.SampleInterval = token, 20*time.Millisecond })
	c.addr, _ = serve(t, c.proxy.Handler)

	for _, path := range []string{"/v1/dashboard", "/v1/cluster", "/v1/kpi", "/metrics"} {
		if status, _, _ := fetch(t, c.addr, path, ""); status != 401 {
			t.Errorf("%s without the token: %d, want 401", path, status)
		}
		if status, _, _ := fetch(t, c.addr, path, "wrong"); status != 401 {
			t.Errorf("%s with a wrong token: %d, want 401", path, status)
		}
	}
	for _, path := range []string{"/healthz", "/dashboard", "/dashboard/app.js", "/dashboard/app.css"} {
		if status, _, _ := fetch(t, c.addr, path, ""); status != 200 {
			t.Errorf("%s without the token: %d, want 200", path, status)
		}
	}
	if _, page, h := fetch(t, c.addr, "/dashboard", ""); !strings.Contains(page, `<script src="/dashboard/app.js">`) ||
		!strings.Contains(string(h.Peek("Content-Security-Policy")), "default-src 'self'") {
		t.Fatalf("dashboard page: %s\n%s", h, page)
	}

	pc, err := api.NewClient(api.ClientConfig{Addr: c.addr, Token: token, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pollUntil(t, 10*time.Second, func() string { // the history counts from its first sample on
		if d, err := pc.Dashboard(ctx); err != nil || len(d.History) == 0 {
			return fmt.Sprintf("no history yet (%v)", err)
		}
		return ""
	})
	for i := range 5 {
		apitest.Answered(t)(pc.Create(ctx, "support", &api.Request{Nickname: fmt.Sprint("Ann ", i)}))
	}
	var d api.Dashboard
	pollUntil(t, 10*time.Second, func() string {
		if d, err = pc.Dashboard(ctx); err != nil {
			return err.Error()
		}
		if got := shareSums(d); got != "" {
			return got
		}
		for _, name := range []string{"a", "b", "c"} {
			if !hasEvent(d, "join", name) {
				return "no join event of " + name
			}
		}
		var sent uint64
		for _, s := range d.History {
			sent += s.Requests
		}
		if sent < 5 {
			return fmt.Sprintf("history counts %d requests, want 5", sent)
		}
		return ""
	})
	for _, m := range d.Members {
		if m.Role == "node" && (m.PlacementShare < .2 || m.SuccessorShare < .2 || m.StartedAt <= 0) {
			t.Fatalf("node %s: %+v", m.Name, m)
		}
	}
	// The members' states are what gossip says at the moment: on a busy
	// machine a live member can be suspect for a while and refute, so the
	// page is read until it shows them all alive.
	pollUntil(t, 10*time.Second, func() string {
		_, page, _ := fetch(t, c.addr, "/metrics", token)
		for _, want := range []string{
			`chatha_proxy_ring_info{checksum="` + d.RingChecksum + `"} 1`,
			`chatha_proxy_member_sessions{member="c"} 0`,
			`chatha_proxy_member_health_score{member="c"} `, // c's own Lifeguard score: not 0 when its machine is busy
			`chatha_members{role="node",state="alive"} 3`,
			`chatha_proxy_http_requests_total{route="create",status="200"} 5`,
			`chatha_proxy_http_request_duration_seconds_count{route="create"} 5`,
			`chatha_proxy_forwarded_total{node="a"}`,
			`go_goroutines `,
		} {
			if !strings.Contains(page, want) {
				return fmt.Sprintf("no %s in\n%s", want, page)
			}
		}
		return ""
	})

	before := d.RingChecksum
	if err := leaver.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	leaver.Shutdown()
	pollUntil(t, 10*time.Second, func() string {
		if d, err = pc.Dashboard(ctx); err != nil {
			return err.Error()
		}
		for _, m := range d.Members {
			if m.Name == "c" && (m.State != "left" || m.PlacementShare != 0 || m.SuccessorShare != 0) {
				return fmt.Sprintf("c after its leave: %+v", m)
			}
		}
		if !hasEvent(d, "left", "c") {
			return "no left event of c"
		}
		return shareSums(d)
	})
	_, page, _ := fetch(t, c.addr, "/metrics", token)
	if strings.Contains(page, `member="c"`) || strings.Contains(page, before) || !strings.Contains(page, `chatha_proxy_ring_info{checksum="`+d.RingChecksum+`"} 1`) {
		t.Fatalf("after c left, its series or the old ring checksum %s remain:\n%s", before, page)
	}
}

// shareSums reports unless the shares of the live nodes each add up to 1.
func shareSums(d api.Dashboard) string {
	var place, succ float64
	for _, m := range d.Members {
		place += m.PlacementShare
		succ += m.SuccessorShare
	}
	if math.Abs(place-1) > 1e-6 || math.Abs(succ-1) > 1e-6 {
		return fmt.Sprintf("shares add up to %v and %v: %+v", place, succ, d.Members)
	}
	return ""
}

func hasEvent(d api.Dashboard, kind, member string) bool {
	for _, e := range d.Events {
		if e.Kind == kind && e.Member == member {
			return true
		}
	}
	return false
}
