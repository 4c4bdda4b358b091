package chat

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestQuotedLenMatchesEncodingJSON: the length of every string as
// encoding/json writes it, escapes and invalid UTF-8 included.
func TestQuotedLenMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `"quoted" \ back`, "<b>&amp;</b>", "tab\tnew\nline\r\b\f\x00\x1f",
		"héllo wörld ✓ 🙂", "bad \xff\xfe utf8", "sep \u2028 \u2029", strings.Repeat("<", 100)} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := quotedLen(s); got != len(b) {
			t.Errorf("quotedLen(%q) = %d, encoding/json writes %d bytes", s, got, len(b))
		}
	}
}

// TestEncodedSizeBoundsTheJSON: an event's EncodedSize is at least the
// bytes of its Message in JSON, with the comma after it, and at most 100 more (numbers are shorter than 20 digits, empty fields are left out).
func TestEncodedSizeBoundsTheJSON(t *testing.T) {
	evs := []Event{
		{},
		{Index: 1 << 40, Type: EventMessage, From: 1 << 30, FromNick: "Ann <3", FromType: PartyClient, Text: "hi \"there\"", MessageType: "t", Time: time.UnixMilli(1 << 50)},
		{Index: 7, Type: EventParticipantJoined, From: 2, FromNick: "Bob", FromType: PartyAgent, Time: time.Now()},
		{Index: 8, Type: EventFileUploaded, From: 2, FromNick: "Bob", FromType: PartyAgent, Time: time.Now(),
			UserData: map[string]string{FileID: "0123456789abcdef", FileName: "<report>.pdf", FileSize: "1048576", FileType: "application/pdf"}},
	}
	for _, e := range evs {
		b, err := json.Marshal(AppendMessages(nil, []Event{e})[0])
		if err != nil {
			t.Fatal(err)
		}
		if got := e.EncodedSize(); got < len(b)+1 || got > len(b)+1+100 {
			t.Errorf("EncodedSize of %+v = %d, JSON is %d bytes", e, got, len(b))
		}
	}
}

func TestPage(t *testing.T) {
	ev := func(i int, text string) Event { return Event{Index: i, Type: EventMessage, FromNick: "n", Text: text} }
	small, big := strings.Repeat("a", 100), strings.Repeat("b", 5000)
	probe := ev(0, small)
	one := probe.EncodedSize()
	many := make([]Event, 10)
	for i := range many {
		many[i] = ev(i+1, small)
	}
	tests := []struct {
		name                string
		evs                 []Event
		maxEvents, maxBytes int
		want                int
	}{
		{"none", nil, 5, 1000, 0},
		{"all fit", many, 100, 1 << 20, 10},
		{"event limit", many, 4, 1 << 20, 4},
		{"byte limit", many, 100, 3 * one, 3},
		{"byte limit just over", many, 100, 3*one - 1, 2},
		{"a large first event goes alone", []Event{ev(1, big), ev(2, small)}, 100, 1000, 1},
		{"a large later event waits", []Event{ev(1, small), ev(2, big)}, 100, 1000, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Page(tc.evs, tc.maxEvents, tc.maxBytes)
			if len(got) != tc.want {
				t.Fatalf("Page gave %d events, want %d", len(got), tc.want)
			}
			if len(got) > 1 && EncodedSize(got) > tc.maxBytes {
				t.Fatalf("a page of %d events is %d bytes, over %d", len(got), EncodedSize(got), tc.maxBytes)
			}
		})
	}
}
