package demo

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// sleeper starts a real process that waits a minute, as a child of the
// demo; it is killed when the test ends.
func sleeper(t *testing.T, name, role string) *Child {
	t.Helper()
	c, err := Start(name, role, "127.0.0.1:1", exec.Command("sleep", "60"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { StopAll([]*Child{c}, time.Second) })
	return c
}

// newFront serves a front with children before the proxy at proxy.
func newFront(t *testing.T, proxy string, children ...*Child) *httptest.Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Proxy, cfg.Children = proxy, children
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// answer is an HTTP answer, read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, method, url string, header map[string]string, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func TestPages(t *testing.T) {
	srv := newFront(t, "127.0.0.1:1", sleeper(t, "node-1", RoleNode))
	for _, c := range []struct {
		method, path string
		status       int
		ctype, has   string
	}{
		{"GET", "/demo/customer", 200, "text/html; charset=utf-8", `src="/demo/customer.js"`},
		{"GET", "/demo/agent", 200, "text/html; charset=utf-8", `src="/demo/agent.js"`},
		{"GET", "/demo/", 200, "text/html; charset=utf-8", `href="/demo/customer"`},
		{"GET", "/demo", 200, "text/html; charset=utf-8", `href="/demo/agent"`},
		{"HEAD", "/demo/agent", 200, "text/html; charset=utf-8", ""},
		{"GET", "/demo/chat.js", 200, "text/javascript; charset=utf-8", "class Session"},
		{"GET", "/demo/chat.js", 200, "text/javascript; charset=utf-8", "const COMETD_URL = '/genesys/cometd'"},
		{"GET", "/demo/chat.js", 200, "text/javascript; charset=utf-8", "'/demo/processes/' + encodeURIComponent(node) + '/kill'"},
		{"GET", "/demo/customer", 200, "text/html; charset=utf-8", `<input id="push" name="push" type="checkbox" checked> live push (CometD)`},
		{"GET", "/demo/customer", 200, "text/html; charset=utf-8", `<button id="kill" type="button" class="kill">`},
		{"GET", "/demo/agent", 200, "text/html; charset=utf-8", `<button type="button" class="kill" hidden>`},
		{"GET", "/demo/customer.js", 200, "text/javascript; charset=utf-8", "sessionStorage"},
		{"GET", "/demo/agent.js", 200, "text/javascript; charset=utf-8", "/agent/1/queue"},
		{"GET", "/demo/demo.css", 200, "text/css; charset=utf-8", ".transcript"},
		{"GET", "/demo/customer.html", 404, "", ""},
		{"GET", "/demo/nothing.js", 404, "", ""},
		{"GET", "/demo/pages/chat.js", 404, "", ""},
		{"GET", "/demo/customer/", 404, "", ""},
		{"POST", "/demo/customer", 405, "", ""},
	} {
		a := send(t, c.method, srv.URL+c.path, nil, "")
		if a.status != c.status || c.ctype != "" && a.header.Get("Content-Type") != c.ctype || !strings.Contains(a.body, c.has) {
			t.Errorf("%s %s: %d %q, want %d %q with %q", c.method, c.path, a.status, a.header.Get("Content-Type"), c.status, c.ctype, c.has)
		}
		if c.status == 200 && !strings.HasPrefix(a.header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("%s: no content security policy: %v", c.path, a.header)
		}
	}
}

// TestForward: everything outside /demo/ goes to the proxy as it came,
// and its answer comes back as it went; a proxy that does not answer is a 502.
func TestForward(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Chatha-Node", "node-2")
		w.WriteHeader(http.StatusTeapot)
		json.NewEncoder(w).Encode(map[string]string{"method": r.Method, "uri": r.RequestURI, "body": string(body),
			"host": r.Host, "origin": r.Header.Get("Origin"), "forwardedFor": r.Header.Get("X-Forwarded-For")})
	}))
	t.Cleanup(proxy.Close)
	srv := newFront(t, proxy.Listener.Addr().String(), sleeper(t, "node-1", RoleNode))
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/genesys/2/chat/support/", "nickname=Ann"},
		{"POST", "/genesys/2/chat/support/abc/refresh?x=1", "transcriptPosition=3"},
		{"GET", "/dashboard", ""},
		{"GET", "/agent/1/queue", ""},
		{"GET", "/demonstration", ""},
	} {
		a := send(t, c.method, srv.URL+c.path, map[string]string{"Origin": srv.URL}, c.body)
		var got map[string]string
		if err := json.Unmarshal([]byte(a.body), &got); err != nil || a.status != http.StatusTeapot || a.header.Get("X-Chatha-Node") != "node-2" {
			t.Fatalf("%s %s: %d %v %q", c.method, c.path, a.status, a.header, a.body)
		}
		want := map[string]string{"method": c.method, "uri": c.path, "body": c.body, "host": strings.TrimPrefix(srv.URL, "http://"),
			"origin": srv.URL, "forwardedFor": "127.0.0.1"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s %s: the proxy saw %s %q, want %q", c.method, c.path, k, got[k], v)
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := ln.Addr().String()
	ln.Close()
	if a := send(t, "GET", newFront(t, gone, sleeper(t, "node-1", RoleNode)).URL+"/v1/cluster", nil, ""); a.status != http.StatusBadGateway {
		t.Fatalf("with no proxy listening: %d %q", a.status, a.body)
	}
}

// TestKill: the kill endpoint kills a chat node, and only a chat node, and
// only when the demo's own pages ask.
func TestKill(t *testing.T) {
	node1, node2, proxy := sleeper(t, "node-1", RoleNode), sleeper(t, "node-2", RoleNode), sleeper(t, "proxy", RoleProxy)
	srv := newFront(t, "127.0.0.1:1", node1, node2, proxy)
	host := strings.TrimPrefix(srv.URL, "http://")
	own := map[string]string{"Content-Type": "application/json", "Origin": srv.URL}
	with := func(k, v string) map[string]string {
		h := map[string]string{"Content-Type": "application/json", "Origin": srv.URL}
		h[k] = v
		return h
	}
	for _, c := range []struct {
		name, method, path string
		header             map[string]string
		status             int
	}{
		{"a page of another origin", "POST", "/demo/processes/node-1/kill", with("Origin", "http://127.0.0.1:9"), 403},
		{"a DNS name rebound to this machine", "POST", "/demo/processes/node-1/kill", with("Host", "rebound.example:"+strings.Split(host, ":")[1]), 403},
		{"a form post", "POST", "/demo/processes/node-1/kill", with("Content-Type", "application/x-www-form-urlencoded"), 415},
		{"a GET", "GET", "/demo/processes/node-1/kill", own, 405},
		{"the proxy", "POST", "/demo/processes/proxy/kill", own, 403},
		{"no such process", "POST", "/demo/processes/node-9/kill", own, 404},
		{"no such action", "POST", "/demo/processes/node-1/stop", own, 404},
		{"a POST of the list", "POST", "/demo/processes", own, 405},
	} {
		if a := send(t, c.method, srv.URL+c.path, c.header, "{}"); a.status != c.status {
			t.Errorf("%s: %d %q, want %d", c.name, a.status, a.body, c.status)
		}
	}
	if !node1.Running() || !node2.Running() || !proxy.Running() {
		t.Fatal("a refused request killed a process")
	}

	a := send(t, "POST", srv.URL+"/demo/processes/node-1/kill", map[string]string{"Content-Type": "application/json", "Host": "localhost:" + strings.Split(host, ":")[1]}, "{}")
	var k Killed
	if err := json.Unmarshal([]byte(a.body), &k); err != nil || a.status != 200 || k.Name != "node-1" || k.Pid != node1.Pid() || k.Running || k.Signal != "SIGKILL" {
		t.Fatalf("kill node-1: %d %q", a.status, a.body)
	}
	select {
	case <-node1.Done():
	default:
		t.Fatal("node-1 still runs")
	}
	if a := send(t, "POST", srv.URL+"/demo/processes/node-1/kill", own, "{}"); a.status != http.StatusConflict {
		t.Fatalf("kill node-1 again: %d %q", a.status, a.body)
	}

	var list Processes
	if err := json.Unmarshal([]byte(send(t, "GET", srv.URL+"/demo/processes", nil, "").body), &list); err != nil {
		t.Fatal(err)
	}
	want := []Process{{"node-1", RoleNode, node1.Pid(), "127.0.0.1:1", false}, {"node-2", RoleNode, node2.Pid(), "127.0.0.1:1", true},
		{"proxy", RoleProxy, proxy.Pid(), "127.0.0.1:1", true}}
	if len(list.Processes) != len(want) {
		t.Fatalf("processes: %+v", list)
	}
	for i := range want {
		if list.Processes[i] != want[i] {
			t.Errorf("process %d: %+v, want %+v", i, list.Processes[i], want[i])
		}
	}
}

func TestConfigValidate(t *testing.T) {
	child := &Child{Name: "node-1"}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no proxy", func(c *Config) { c.Proxy = "" }, "Proxy"},
		{"no children", func(c *Config) { c.Children = nil }, "Children"},
		{"no kill wait", func(c *Config) { c.KillWait = 0 }, "KillWait"},
		{"no log", func(c *Config) { c.Log = nil }, "Log"},
	} {
		cfg := DefaultConfig()
		cfg.Proxy, cfg.Children = "127.0.0.1:8084", []*Child{child}
		c.edit(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.want)
		}
	}
}
