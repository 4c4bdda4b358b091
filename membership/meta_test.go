package membership

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []Meta{
		{Role: RoleNode},
		{Role: RoleNode, APIAddr: "10.0.0.1:8080", Mode: ModeFull, Sessions: 1000, Incarnation: 1<<64 - 1},
		{Role: RoleProxy, APIAddr: "[::1]:443", Mode: ModeDraining, Incarnation: 42, Leaving: true},
		{Role: RoleDashboard, APIAddr: strings.Repeat("h", MaxAPIAddrLen), Sessions: MaxSessions},
		{Role: RoleNode, APIAddr: strings.Repeat("h", MaxAPIAddrLen), Mode: ModeFull, Sessions: MaxSessions, Incarnation: 1<<64 - 1, Leaving: true,
			Health: Health{Score: MaxHealthScore, Refutations: MaxRefutations, ProbeRTT: MaxProbeRTT}},
		{Role: RoleProxy, Health: Health{Score: 1, Refutations: 2, ProbeRTT: 150 * time.Microsecond}},
	} {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary(%+v): %v", m, err)
		}
		if len(b) > memberlist.MetaMaxSize {
			t.Errorf("%d bytes, over memberlist's %d", len(b), memberlist.MetaMaxSize)
		}
		got, err := DecodeMeta(b)
		if err != nil || got != m {
			t.Errorf("DecodeMeta(MarshalBinary(%+v)) = %+v, %v", m, got, err)
		}
	}
}

func TestMetaRejects(t *testing.T) {
	valid, _ := Meta{Role: RoleNode, APIAddr: "h:1", Incarnation: 7}.MarshalBinary()
	newer := append([]byte{3}, append(valid[1:], 0xff, 0xff)...)
	for name, b := range map[string][]byte{
		"empty":         nil,
		"short":         valid[:3],
		"version 0":     append([]byte{0}, valid[1:]...),
		"unknown role":  {1, 9, 0, 0, 0, 0, 0},
		"unknown mode":  {1, 1, 9, 0, 0, 0, 0},
		"unknown flag":  {1, 1, 0, 2, 0, 0, 0},
		"truncated":     valid[:len(valid)-1],
		"trailing":      append(bytes.Clone(valid), 0),
		"overlong int":  {1, 1, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
		"sessions":      {1, 1, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x08, 0},
		"addr too long": {1, 1, 0, 0, 0, 0, 5, 'a'},
		"bad utf-8":     {1, 1, 0, 0, 0, 0, 1, 0xff},
		"v2 no health":  {2, 1, 0, 0, 0, 0, 0},
		"v2 short":      {2, 1, 0, 0, 0, 0, 0, 1, 1},
		"v2 score":      {2, 1, 0, 0, 0, 0, 0, 0x80, 0x02, 0, 0},
		"v2 rtt":        {2, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"v2 trailing":   {2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"v2 flag":       {2, 1, 0, 2, 0, 0, 0, 0, 0, 0},
	} {
		if m, err := DecodeMeta(b); !errors.Is(err, ErrBadMeta) {
			t.Errorf("%s: DecodeMeta(%x) = %+v, %v; want ErrBadMeta", name, b, m, err)
		}
	}
	if m, err := DecodeMeta(newer); err != nil || m.Incarnation != 7 || m.APIAddr != "h:1" {
		t.Errorf("a newer version with appended fields: %+v, %v", m, err)
	}
	v1 := []byte{1, 1, 0, 0, 7, 0, 3, 'h', ':', '1'}
	if m, err := DecodeMeta(v1); err != nil || m.Incarnation != 7 || m.APIAddr != "h:1" || m.Health != (Health{}) {
		t.Errorf("version 1 from an older member: %+v, %v", m, err)
	}
}

func TestMetaValidate(t *testing.T) {
	for name, m := range map[string]Meta{
		"no role":       {},
		"bad mode":      {Role: RoleNode, Mode: 3},
		"negative":      {Role: RoleNode, Sessions: -1},
		"addr too long": {Role: RoleNode, APIAddr: strings.Repeat("h", MaxAPIAddrLen+1)},
		"score":         {Role: RoleNode, Health: Health{Score: MaxHealthScore + 1}},
		"refutations":   {Role: RoleNode, Health: Health{Refutations: -1}},
		"rtt":           {Role: RoleNode, Health: Health{ProbeRTT: MaxProbeRTT + time.Microsecond}},
		"rtt precision": {Role: RoleNode, Health: Health{ProbeRTT: time.Nanosecond}},
	} {
		if _, err := m.MarshalBinary(); !errors.Is(err, ErrBadMeta) {
			t.Errorf("%s: MarshalBinary = %v, want ErrBadMeta", name, err)
		}
	}
}

func TestStringers(t *testing.T) {
	for got, want := range map[string]string{
		RoleNode.String(): "node", RoleProxy.String(): "proxy", RoleDashboard.String(): "dashboard", Role(0).String(): "role(0)",
		ModeActive.String(): "active", ModeDraining.String(): "draining", ModeFull.String(): "full", Mode(7).String(): "mode(7)",
		StateAlive.String(): "alive", StateSuspect.String(): "suspect", StateDead.String(): "dead", StateLeft.String(): "left", State(9).String(): "state(9)",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// FuzzDecodeMeta: gossip metadata comes from the network. DecodeMeta must
// not panic, and whatever it accepts must encode and decode to itself.
func FuzzDecodeMeta(f *testing.F) {
	for _, m := range []Meta{{Role: RoleNode, APIAddr: "127.0.0.1:8080", Sessions: 3, Incarnation: 99}, {Role: RoleProxy, Leaving: true}} {
		b, _ := m.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{2, 1, 0, 0, 1, 2, 0, 9, 9})
	f.Add([]byte{1, 1, 0, 0, 7, 0, 3, 'h', ':', '1'})
	f.Add([]byte{2, 1, 0, 1, 7, 0, 0, 3, 4, 0x96, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			return
		}
		enc, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
		if again, err := DecodeMeta(enc); err != nil || again != m {
			t.Fatalf("re-decoded %+v, %v; want %+v", again, err, m)
		}
	})
}

func BenchmarkMetaEncode(b *testing.B) {
	m := Meta{Role: RoleNode, APIAddr: "10.1.2.3:8080", Sessions: 512, Incarnation: 1 << 60}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = m.AppendBinary(buf[:0])
	}
}

func BenchmarkMetaDecode(b *testing.B) {
	enc, _ := Meta{Role: RoleNode, APIAddr: "10.1.2.3:8080", Sessions: 512, Incarnation: 1 << 60}.MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMeta(enc); err != nil {
			b.Fatal(err)
		}
	}
}
