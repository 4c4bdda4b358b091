package archive

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	secret, body := []byte("0123456789abcdef-secret"), []byte(`{"chatId":"c1"}`)
	now := time.Unix(1_700_000_000, 0)
	good := Sign(secret, body, now)
	if !strings.HasPrefix(good, "t=1700000000,v1=") || len(good) != len("t=1700000000,v1=")+64 {
		t.Fatalf("Sign = %q", good)
	}
	other := Sign([]byte("another secret, 16+ bytes"), body, now)
	for _, tc := range []struct {
		name, header string
		body         []byte
		at           time.Time
		want         error
	}{
		{"good", good, body, now, nil},
		{"within the tolerance", good, body, now.Add(4 * time.Minute), nil},
		{"rotation: one of two matches", other + "," + good[strings.Index(good, "v1="):], body, now, nil},
		{"other body", good, []byte(`{"chatId":"c2"}`), now, ErrBadSignature},
		{"other secret", other, body, now, ErrBadSignature},
		{"old", good, body, now.Add(6 * time.Minute), ErrStale},
		{"from the future", good, body, now.Add(-6 * time.Minute), ErrStale},
		{"empty", "", body, now, ErrBadSignature},
		{"no signature", "t=1700000000", body, now, ErrBadSignature},
		{"no time", good[strings.Index(good, "v1="):], body, now, ErrBadSignature},
		{"short signature", "t=1700000000,v1=abcd", body, now, ErrBadSignature},
		{"not hex", "t=1700000000,v1=" + strings.Repeat("zz", 32), body, now, ErrBadSignature},
		{"no equals", "t=1700000000,v1", body, now, ErrBadSignature},
		{"huge time", "t=99999999999999999999999,v1=" + strings.Repeat("00", 32), body, now, ErrBadSignature},
		{"too long", good + strings.Repeat(",x=y", 300), body, now, ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Verify(secret, tc.header, tc.body, tc.at, 5*time.Minute); !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzVerify: no header makes Verify panic or accept a body it was not
// signed for; a header Sign made verifies.
func FuzzVerify(f *testing.F) {
	secret := []byte("0123456789abcdef-secret")
	now := time.Unix(1_700_000_000, 0)
	f.Add(Sign(secret, []byte("body"), now), []byte("body"))
	f.Add("t=1,v1=00,v1=", []byte{})
	f.Add(",,,=,t=,v1=", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := Verify(secret, header, body, now, time.Minute)
		if err == nil && header != Sign(secret, body, now) && !strings.Contains(header, Sign(secret, body, now)[len("t=1700000000,"):]) {
			t.Fatalf("Verify accepted %q for %q", header, body)
		}
		if err := Verify(secret, Sign(secret, body, now), body, now, time.Minute); err != nil {
			t.Fatalf("a signed body does not verify: %v", err)
		}
	})
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url       string
		allowHTTP bool
		bad       string
	}{
		{"https://archive.example.com/chats", false, ""},
		{"https://archive.example.com:8443/chats?tenant=1", false, ""},
		{"http://127.0.0.1:9000/hook", false, ""},
		{"http://127.7.0.1/hook", false, ""},
		{"http://[::1]:9000/hook", false, ""},
		{"http://localhost:9000/hook", false, ""},
		{"http://archive.example.com/hook", false, "must be https"},
		{"http://10.0.0.5/hook", false, "must be https"},
		{"http://archive.example.com/hook", true, ""},
		{"https://user:pass@archive.example.com/", false, "user name or password"},
		{"ftp://archive.example.com/", false, "must be https"},
		{"/hook", false, "must be https"},
		{"https:///hook", false, "no host"},
		{"https://%zz/", false, "does not parse"},
	} {
		err := CheckURL(tc.url, tc.allowHTTP)
		if (err == nil) != (tc.bad == "") || (err != nil && !strings.Contains(err.Error(), tc.bad)) {
			t.Errorf("CheckURL(%q, %v) = %v, want %q", tc.url, tc.allowHTTP, err, tc.bad)
		}
	}
	if got := Redacted("https://archive.example.com/hook?token=secret"); got != "https://archive.example.com/hook" {
		t.Errorf("Redacted = %q", got)
	}
}
