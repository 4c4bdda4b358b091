package chatid

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func TestNewParseRoundTrip(t *testing.T) {
	h := HomeOf("node-a", 42)
	id, err := New(h, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != Len || !strings.HasPrefix(id, h.String()) {
		t.Fatalf("id %q does not start with home %s", id, h)
	}
	got, err := Parse(id)
	if err != nil || got != h {
		t.Fatalf("Parse(%q) = %v, %v; want %v", id, got, err, h)
	}
}

func TestHomeOfDiffersByIncarnation(t *testing.T) {
	if HomeOf("n", 1) == HomeOf("n", 2) || HomeOf("n1", 1) == HomeOf("n", 11) {
		t.Fatal("home tags collide for different nodes")
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"", "abc", strings.Repeat("g", Len), strings.Repeat("A", Len), strings.Repeat("0", Len+1), "../../" + strings.Repeat("0", Len-6)} {
		if _, err := Parse(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) err = %v, want ErrMalformed", s, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("0123456789abcdef0123456789abcdef")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		if err != nil {
			return
		}
		if h.String() != s[:8] {
			t.Fatalf("home %s does not match prefix of %q", h, s)
		}
	})
}
