package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/chatha/chatha/api"
)

// TestSecurityFlagCombinations: tokens need a gossip key when the member
// gossips, TLS flags come in workable sets, and a flag that would do
// nothing is refused.
func TestSecurityFlagCombinations(t *testing.T) {
	base := func(edit func(*nodeFlags)) *nodeFlags {
		f := &nodeFlags{common: common{name: "n", api: "127.0.0.1:1", gossip: "127.0.0.1:2", logFormat: "text"}, tlsClientAuth: clientAuthNone}
		edit(f)
		return f
	}
	tests := []struct {
		name string
		f    *nodeFlags
		want string // "" for no error
	}{
		{"open", base(func(*nodeFlags) {}), ""},
		{"cluster token without key", base(func(f *nodeFlags) { f.clusterToken = "t" }), "needs --gossip-key"},
		{"agent token without key", base(func(f *nodeFlags) { f.agentToken = "t" }), "needs --gossip-key"},
		{"tokens with key", base(func(f *nodeFlags) { f.clusterToken, f.agentToken, f.gossipKey = "t", "u", "k" }), ""},
		{"token without gossip", base(func(f *nodeFlags) { f.gossip, f.clusterToken = "", "t" }), ""},
		{"join without gossip", base(func(f *nodeFlags) { f.gossip, f.join = "", "127.0.0.1:3" }), "need --gossip"},
		{"key without gossip", base(func(f *nodeFlags) { f.gossip, f.gossipKey = "", "k" }), "need --gossip"},
		{"cert without key", base(func(f *nodeFlags) { f.tlsCert = "c" }), "go together"},
		{"client cert without CA", base(func(f *nodeFlags) { f.tlsCert, f.tlsKey, f.tlsClientCert, f.tlsClientKey = "c", "k", "cc", "ck" }), "only with --tls-ca"},
		{"TLS node without CA", base(func(f *nodeFlags) { f.tlsCert, f.tlsKey = "c", "k" }), "give --tls-ca"},
		{"CA without a certificate", base(func(f *nodeFlags) { f.tlsCA = "ca" }), "give --tls-cert"},
		{"TLS node with CA", base(func(f *nodeFlags) { f.tlsCert, f.tlsKey, f.tlsCA = "c", "k", "ca" }), ""},
		{"standalone TLS node", base(func(f *nodeFlags) { f.gossip, f.tlsCert, f.tlsKey = "", "c", "k" }), ""},
		{"standalone node with an unused CA", base(func(f *nodeFlags) { f.gossip, f.tlsCert, f.tlsKey, f.tlsCA = "", "c", "k", "ca" }), "used only with --tls-client-auth"},
		{"client auth without CA", base(func(f *nodeFlags) { f.gossip, f.tlsCert, f.tlsKey, f.tlsClientAuth = "", "c", "k", clientAuthRequire }), "needs --tls-cert, --tls-key and --tls-ca"},
		{"client auth", base(func(f *nodeFlags) { f.tlsCert, f.tlsKey, f.tlsCA, f.tlsClientAuth = "c", "k", "ca", clientAuthRequire }), ""},
		{"bad client auth", base(func(f *nodeFlags) { f.tlsClientAuth = "maybe" }), "want none or require"},
		{"allowed origins", base(func(f *nodeFlags) { f.corsOrigins = "https://shop.example.com, http://127.0.0.1:3000" }), ""},
		{"every origin", base(func(f *nodeFlags) { f.corsOrigins = "*" }), ""},
		{"an origin with a path", base(func(f *nodeFlags) { f.corsOrigins = "https://shop.example.com/chat" }), "--cors-allowed-origins"},
		{"every origin and more", base(func(f *nodeFlags) { f.corsOrigins = "*,https://a.example" }), "give it alone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.validate()
			if err == nil {
				err = tc.f.checkTLS()
			}
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	proxy := common{name: "p", api: "127.0.0.1:1", gossip: "127.0.0.1:2", logFormat: "text", tlsCert: "c", tlsKey: "k"}
	if err := proxy.checkProxyTLS(); err == nil || !strings.Contains(err.Error(), "give --tls-ca") {
		t.Fatalf("a TLS proxy without the nodes' CA: %v", err)
	}
}

func openCORS(t *testing.T) *api.CORS {
	c, err := api.ParseCORS("*")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWarnOpen: one warning line per listener that takes unauthenticated
// requests, and for a chat API open to every origin; none when each is guarded.
func TestWarnOpen(t *testing.T) {
	tests := []struct {
		name        string
		c           common
		clientCerts bool
		want        []string
	}{
		{"all open", common{gossip: "g"}, false, []string{"admin API", "agent API", "gossip"}},
		{"all guarded", common{gossip: "g", clusterToken: "t", agentToken: "u", gossipKey: "k"}, false, nil},
		{"no gossip", common{clusterToken: "t", agentToken: "u"}, false, nil},
		{"client certificates", common{gossip: "g", gossipKey: "k"}, true, nil},
		{"agent API open", common{gossip: "g", clusterToken: "t", gossipKey: "k"}, false, []string{"agent API"}},
		{"every origin", common{clusterToken: "t", agentToken: "u", cors: openCORS(t)}, false, []string{"every origin"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.c.warnOpen(slog.New(slog.NewTextHandler(&buf, nil)), tc.clientCerts)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if buf.Len() == 0 {
				lines = nil
			}
			if len(lines) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", lines, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], "level=WARN") || !strings.Contains(lines[i], w) {
					t.Fatalf("warning %d = %q, want one about %s", i, lines[i], w)
				}
			}
		})
	}
}
