package api

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseSelector(t *testing.T) {
	for _, tc := range []struct {
		query, key, value, bad string
	}{
		{"userData%5BcustomerId%5D=C42", "customerId", "C42", ""},
		{"userData[customerId]=C42", "customerId", "C42", ""},
		{"userData%5Bemail%5D=ann%40example.com", "email", "ann@example.com", ""},
		{"userData%5Bk%5D=a%3Db", "k", "a=b", ""},
		{"", "", "", "exactly one"},
		{"customerId=C42", "", "", "exactly one"},
		{"userData%5Bk%5D=1&userData%5Bj%5D=2", "", "", "exactly one"},
		{"userData%5B%5D=C42", "", "", "key"},
		{"userData%5Bk%5D=", "", "", "value"},
		{"userData%5Bk%5D=%FF", "", "", "value"},
		{"userData%5Ba%5Bb%5D=1", "", "", "[ or ]"},
		{"userData%5Bk%5D=" + strings.Repeat("x", 4097), "", "", "value"},
	} {
		sel, err := ParseSelector([]byte(tc.query))
		if (err == nil) != (tc.bad == "") || (err != nil && !strings.Contains(err.Error(), tc.bad)) {
			t.Errorf("ParseSelector(%.40q) = %v, want %q", tc.query, err, tc.bad)
			continue
		}
		if err == nil && (sel.Key != tc.key || sel.Value != tc.value) {
			t.Errorf("ParseSelector(%q) = %+v", tc.query, sel)
		}
		if err == nil {
			if again, err := ParseSelector([]byte(sel.Query())); err != nil || again != sel {
				t.Errorf("Query of %+v reads back as %+v, %v", sel, again, err)
			}
		}
	}
}

func TestParseKeyValue(t *testing.T) {
	for _, tc := range []struct{ in, key, value string }{
		{"customerId=C42", "customerId", "C42"},
		{"k=a=b", "k", "a=b"},
		{"customerId", "", ""},
		{"=C42", "", ""},
		{"k=", "", ""},
	} {
		sel, err := ParseKeyValue(tc.in)
		if (err == nil) != (tc.key != "") || sel.Key != tc.key || sel.Value != tc.value {
			t.Errorf("ParseKeyValue(%q) = %+v, %v", tc.in, sel, err)
		}
	}
}

// FuzzParseSelector: any query string is refused with a clear error or
// read as a selector within the limits of userData, which its Query
// writes back to the same selector.
func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{"userData%5BcustomerId%5D=C42", "userData[a]=b&c=d", "userData[=x", "%zz", "userData%5B%5D%5D=1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, query []byte) {
		sel, err := ParseSelector(query)
		if err != nil {
			if _, ok := AsError(err); !ok {
				t.Fatalf("error %v is not an answer", err)
			}
			return
		}
		if !utf8.ValidString(sel.Key) || !utf8.ValidString(sel.Value) || sel.Key == "" || sel.Value == "" ||
			len(sel.Key) > maxUserDataKey || len(sel.Value) > maxUserDataVal {
			t.Fatalf("accepted %+v", sel)
		}
		if again, err := ParseSelector([]byte(sel.Query())); err != nil || again != sel {
			t.Fatalf("%+v reads back as %+v, %v", sel, again, err)
		}
	})
}

// FuzzParseKeyValue: chatha ctl's KEY=VALUE is refused or read within
// the limits of userData, the value keeping every byte after the first '='.
func FuzzParseKeyValue(f *testing.F) {
	for _, s := range []string{"customerId=C42", "k=a=b", "=", "k=", "[=]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseKeyValue(s)
		if err != nil {
			return
		}
		if sel.Key+"="+sel.Value != s || sel.Check() != nil {
			t.Fatalf("ParseKeyValue(%q) = %+v", s, sel)
		}
	})
}
