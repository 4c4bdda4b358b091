package main

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// TestCreateSecret: every node derives the same create secret from the same
// flags, --create-secret first, then the cluster token, then the gossip key;
// none gives none, and a short or bad one is a usage error.
func TestCreateSecret(t *testing.T) {
	gossip := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	flags := func(secret, token, key string) *nodeFlags {
		f := &nodeFlags{createSecret: secret}
		f.clusterToken, f.gossipKey = token, key
		return f
	}
	seen := map[string]string{}
	for _, tc := range []struct {
		f      *nodeFlags
		source string
	}{
		{flags("0123456789abcdef-secret", "token", gossip), "create-secret"},
		{flags("", "token", gossip), "cluster-token"},
		{flags("", "", gossip), "gossip-key"},
		{flags("", "", ""), ""},
	} {
		secret, source, err := createSecret(tc.f)
		if err != nil || source != tc.source || (source == "") != (secret == nil) {
			t.Fatalf("createSecret(%+v) = %x, %q, %v; want from %q", tc.f, secret, source, err, tc.source)
		}
		again, _, _ := createSecret(tc.f)
		if !bytes.Equal(secret, again) {
			t.Fatalf("two derivations from %s differ", source)
		}
		if prev, dup := seen[string(secret)]; dup && secret != nil {
			t.Fatalf("%s and %s give the same secret", prev, source)
		}
		seen[string(secret)] = source
		if source != "" && (len(secret) != 32 || bytes.Contains(secret, []byte("token"))) {
			t.Fatalf("secret from %s: %x", source, secret)
		}
	}
	for _, bad := range []*nodeFlags{flags("short", "", ""), flags("", "", "not base64!")} {
		if _, _, err := createSecret(bad); err == nil {
			t.Errorf("createSecret(%+v) accepted", bad)
		}
	}
}
