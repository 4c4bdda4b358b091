package e2e

import (
	"context"
	"crypto/tls"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
)

// tlsSetup is the flags of a cluster whose nodes serve https with
// certificates of one CA, with a gossip key and a cluster token.
type tlsSetup struct {
	ca                  *testCA
	nodeArgs, proxyArgs []string
}

func newTLSSetup(t *testing.T, clientAuth bool) tlsSetup {
	ca := newCA(t, "chatha-test")
	nodeCert, nodeKey := ca.issue("node")
	proxyCert, proxyKey := ca.issue("proxy")
	secure := []string{"--gossip-key", testGossipKey, "--cluster-token", "c-secret", "--tls-ca", ca.File}
	s := tlsSetup{ca: ca,
		nodeArgs:  append([]string{"--tls-cert", nodeCert, "--tls-key", nodeKey}, secure...),
		proxyArgs: append([]string{"--tls-client-cert", proxyCert, "--tls-client-key", proxyKey}, secure...),
	}
	if clientAuth {
		s.nodeArgs = append(s.nodeArgs, "--tls-client-auth", "require")
	}
	return s
}

// nodeClient returns a client of a node's https API with cfg and the
// cluster token of newTLSSetup.
func nodeClient(t *testing.T, p *proc, cfg *tls.Config) *api.Client {
	t.Helper()
	c, err := api.NewClient(api.ClientConfig{Addr: "https://" + p.addr, TLS: cfg, Token: "c-secret", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTLSFromProxyToNodes: nodes serve https with certificates of a CA; a
// proxy given the CA reaches them: chats flow, a drain goes through, and a
// restore on another node purges the chat on its previous owner over TLS. A
// proxy without the CA, or with another CA, reaches no node and says it is
// not ready.
func TestTLSFromProxyToNodes(t *testing.T) {
	s := newTLSSetup(t, false)
	nodeTLS := s.ca.clientTLS()
	c := newClusterWith(t, 2, &cluster{nodeArgs: s.nodeArgs, proxyArgs: s.proxyArgs, nodeTLS: nodeTLS})
	px := c.addProxy("proxy-1")
	waitReady(t, px, http.StatusOK)

	var mine chat
	for mine.id == "" {
		if r := createReply(t, px.addr, api.Request{Nickname: "Ann", Text: "hello"}); r.Status != 200 {
			t.Fatalf("create through the proxy: %d %+v", r.Status, r.Errors)
		} else if r.Node == "node-1" {
			mine = chatOf(r)
		}
	}
	if r := mine.do(t, px.addr, "send", api.Request{Message: "over TLS"}); r.Status != 200 || r.Node != "node-1" {
		t.Fatalf("send: %d on %s %+v", r.Status, r.Node, r.Errors)
	}

	// node-2 is asked about node-1's chat: it restores it and has node-1
	// purge it, over https with the cluster token.
	n2 := nodeClient(t, c.nodes["node-2"], nodeTLS)
	ctx := context.Background()
	r := apitest.Answered(t)(n2.Refresh(ctx, "support", mine.id, &api.Request{UserID: mine.user, SecureKey: mine.key}))
	if r.Status != 200 || r.Alias != "node-2" {
		t.Fatalf("refresh on node-2: %d %+v", r.Status, r)
	}
	n1 := nodeClient(t, c.nodes["node-1"], nodeTLS)
	waitFor(t, 10*time.Second, "node-1 to purge the chat node-2 restored", func() bool {
		k, err := n1.KPI(ctx)
		return err == nil && k.SessionPurged == 1
	})

	out, err := ctl(px, "--cluster-token", "c-secret", "drain", "node-1")
	if err != nil {
		t.Fatalf("drain through the TLS proxy: %v\n%s", err, out)
	}
	if k, err := n1.KPI(ctx); err != nil || k.Mode != "draining" {
		t.Fatalf("node-1 after the drain: %v %+v", err, k)
	}

	wrongCA := newCA(t, "someone-else")
	for name, extra := range map[string][]string{
		"no CA":    {"--gossip-key", testGossipKey, "--cluster-token", "c-secret"},
		"wrong CA": {"--gossip-key", testGossipKey, "--cluster-token", "c-secret", "--tls-ca", wrongCA.File},
	} {
		t.Run(name, func(t *testing.T) {
			c.proxyArgs = extra
			bad := c.addProxy("proxy-" + strings.ReplaceAll(name, " ", "-"))
			waitFor(t, 10*time.Second, "the proxy to find it cannot reach any node", func() bool {
				broken := 0
				for _, m := range members(t, bad) {
					if m.Role == "node" && m.Broken {
						broken++
					}
				}
				return broken == 2
			})
			waitReady(t, bad, http.StatusServiceUnavailable)
			if r := createReply(t, bad.addr, api.Request{Nickname: "Bob"}); r.Status != http.StatusServiceUnavailable {
				t.Fatalf("create through a proxy that cannot reach the nodes: %d %+v", r.Status, r)
			}
		})
	}
}

// TestTLSClientCertificates: nodes that require client certificates serve
// a proxy that presents one signed by the CA, purge each other (each
// presenting its own certificate), and refuse a caller without one.
func TestTLSClientCertificates(t *testing.T) {
	s := newTLSSetup(t, true)
	testerCert, testerKey := s.ca.issue("tester")
	tester := s.ca.clientTLS(testerCert, testerKey)
	c := newClusterWith(t, 2, &cluster{nodeArgs: s.nodeArgs, proxyArgs: s.proxyArgs, nodeTLS: tester})
	px := c.addProxy("proxy-1")
	waitReady(t, px, http.StatusOK)
	r := createReply(t, px.addr, api.Request{Nickname: "Ann", Text: "hello"})
	ch := chatOf(r)
	if r := ch.do(t, px.addr, "send", api.Request{Message: "with a client certificate"}); r.Status != 200 {
		t.Fatalf("send: %d %+v", r.Status, r.Errors)
	}
	owner, other := c.nodes[r.Node], c.nodes["node-1"]
	if owner == other {
		other = c.nodes["node-2"]
	}
	ctx := context.Background()
	if r := apitest.Answered(t)(nodeClient(t, other, tester).Refresh(ctx, "support", ch.id, &api.Request{UserID: ch.user, SecureKey: ch.key})); r.Status != 200 {
		t.Fatalf("refresh on %s: %d %+v", other.name, r.Status, r.Errors)
	}
	waitFor(t, 10*time.Second, owner.name+" to purge the chat "+other.name+" restored", func() bool {
		k, err := nodeClient(t, owner, tester).KPI(ctx)
		return err == nil && k.SessionPurged == 1
	})
	for _, p := range c.nodes {
		if _, err := nodeClient(t, p, s.ca.clientTLS()).Healthz(context.Background()); err == nil {
			t.Fatalf("%s answered a caller without a client certificate", p.name)
		}
	}
}

// waitReady polls a proxy's /readyz until it answers want.
func waitReady(t *testing.T, p *proc, want int) {
	t.Helper()
	waitFor(t, 15*time.Second, p.name+" /readyz to answer "+http.StatusText(want), func() bool {
		return status(t, "GET", "http://"+p.addr+"/readyz") == want
	})
}

// ctl runs chatha ctl against proxy p.
func ctl(p *proc, args ...string) (string, error) {
	cmd := exec.Command(binary, append([]string{"ctl", "--proxy", "http://" + p.addr}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
