package membership

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// tryJoin starts a member with secret that joins addr once and reports
// whether it got in.
func tryJoin(t *testing.T, name string, secret []byte, addr string) bool {
	t.Helper()
	cfg := testConfig(name, addr)
	cfg.SecretKey, cfg.JoinAttempts = secret, 1
	m, err := New(cfg)
	if err != nil {
		return false
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return true
}

func TestMembersWithDifferentKeysDoNotJoin(t *testing.T) {
	a := startMember(t, func() *Config { c := testConfig("a-node"); c.SecretKey = key(1); return c }())
	for name, secret := range map[string][]byte{"other-key": key(2), "no-key": nil, "short-key": key(1)[:16]} {
		if tryJoin(t, name, secret, a.Addr()) {
			t.Errorf("%s joined a cluster encrypted with another key", name)
		}
	}
	if !tryJoin(t, "same-key", key(1), a.Addr()) {
		t.Error("a member with the right key could not join")
	}
}

func TestKeyRotation(t *testing.T) {
	ms := startCluster(t, 2, func(c *Config) { c.SecretKey = key(1) })
	steps := []struct {
		name string
		do   func(*Member) error
	}{
		{"install", func(m *Member) error { return m.InstallKey(key(2)) }},
		{"use", func(m *Member) error { return m.UseKey(key(2)) }},
		{"remove", func(m *Member) error { return m.RemoveKey(key(1)) }},
	}
	for _, s := range steps {
		for _, m := range ms {
			if err := s.do(m); err != nil {
				t.Fatalf("%s on %s: %v", s.name, m.Name(), err)
			}
		}
	}
	keys, err := ms[0].Keys()
	if err != nil || len(keys) != 1 || !bytes.Equal(keys[0], key(2)) {
		t.Fatalf("Keys() = %x, %v; want only the new key", keys, err)
	}
	if err := ms[1].SetSessions(7); err != nil {
		t.Fatal(err)
	}
	waitView(t, ms[0], 3*time.Second, "update gossiped with the new key", func(v *View) bool {
		n, _ := v.Lookup(ms[1].Name())
		return n.Meta.Sessions == 7
	})
	if tryJoin(t, "old-key", key(1), ms[0].Addr()) {
		t.Error("a member with the removed key joined")
	}
	if !tryJoin(t, "new-key", key(2), ms[0].Addr()) {
		t.Error("a member with the new key could not join")
	}
}

func TestKeyringErrors(t *testing.T) {
	clear := startMember(t, testConfig("clear"))
	if err := clear.InstallKey(key(1)); !errors.Is(err, ErrNoEncryption) {
		t.Errorf("InstallKey without encryption = %v, want ErrNoEncryption", err)
	}
	c := testConfig("secret")
	c.SecretKey = key(1)
	m := startMember(t, c)
	if err := m.InstallKey([]byte("short")); err == nil {
		t.Error("InstallKey accepted a 5-byte key")
	}
	if err := m.UseKey(key(9)); err == nil {
		t.Error("UseKey accepted a key that is not installed")
	}
	if err := m.RemoveKey(key(1)); err == nil {
		t.Error("RemoveKey removed the key in use")
	}
}

// TestAcceptKeysAtStart: a member started during the first step of a
// rotation, still encrypting with the old key but already accepting the new
// one, joins members that use the old key.
func TestAcceptKeysAtStart(t *testing.T) {
	a := startMember(t, func() *Config { c := testConfig("a-node"); c.SecretKey = key(1); return c }())
	cfg := testConfig("b-node", a.Addr())
	cfg.SecretKey, cfg.AcceptKeys, cfg.JoinAttempts = key(1), [][]byte{key(2)}, 1
	b := startMember(t, cfg)
	keys, err := b.Keys()
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], key(1)) {
		t.Fatalf("keyring = %d keys, %v; want the key in use first, then the accepted one", len(keys), err)
	}
}

// TestSetKeysRotates runs the three steps of a rotation through SetKeys, as a
// config reload does, and checks the keyring after each.
func TestSetKeysRotates(t *testing.T) {
	c := testConfig("rot")
	c.SecretKey = key(1)
	m := startMember(t, c)
	for _, step := range []struct {
		keys Keys
		want [][]byte
	}{
		{Keys{Primary: key(1), Accept: [][]byte{key(2)}}, [][]byte{key(1), key(2)}},
		{Keys{Primary: key(2), Accept: [][]byte{key(1)}}, [][]byte{key(2), key(1)}},
		{Keys{Primary: key(2)}, [][]byte{key(2)}},
	} {
		if err := m.SetKeys(step.keys); err != nil {
			t.Fatal(err)
		}
		got, _ := m.Keys()
		if len(got) != len(step.want) || !bytes.Equal(got[0], step.want[0]) {
			t.Fatalf("after SetKeys(%x...): %d keys, first %x", step.keys.Primary[:1], len(got), got[0][:1])
		}
	}
	if err := m.SetKeys(Keys{}); err == nil {
		t.Fatal("SetKeys turned encryption off")
	}
}

func TestParseKeys(t *testing.T) {
	k, err := ParseKeys("AQEBAQEBAQEBAQEBAQEBAQ==", " AgICAgICAgICAgICAgICAg==, ")
	if err != nil || len(k.Primary) != 16 || len(k.Accept) != 1 {
		t.Fatalf("ParseKeys = %+v, %v", k, err)
	}
	for _, bad := range [][2]string{{"", "AQ=="}, {"not base64", ""}, {"AQ==", "%%"}} {
		if _, err := ParseKeys(bad[0], bad[1]); err == nil {
			t.Errorf("ParseKeys(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

// FuzzParseKeys feeds arbitrary gossip-key and gossip-keys options to
// ParseKeys and the config check a member runs with them: nothing panics,
// and keys the check accepts make a keyring, as New relies on.
func FuzzParseKeys(f *testing.F) {
	k16, k32 := "AQEBAQEBAQEBAQEBAQEBAQ==", "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
	for _, seed := range [][2]string{{k16, ""}, {k32, k16 + ", " + k16}, {"", k16}, {"AQ==", ""}, {k16, ",,"}, {"not base64", ""}, {k16, "%%"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, primary, accept string) {
		k, err := ParseKeys(primary, accept)
		if err != nil {
			return
		}
		cfg := DefaultLocalConfig()
		cfg.Name, cfg.SecretKey, cfg.AcceptKeys = "m", k.Primary, k.Accept
		if cfg.Validate() != nil || len(k.Primary) == 0 {
			return
		}
		if _, err := memberlist.NewKeyring(k.Accept, k.Primary); err != nil {
			t.Fatalf("keys %q, %q pass the config check but make no keyring: %v", primary, accept, err)
		}
	})
}
