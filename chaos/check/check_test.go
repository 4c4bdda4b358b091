package check

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCleanHistoryPasses(t *testing.T) {
	h := history(cleanChat("a"), cleanChat("b"), bigChat("c", 200))
	h.Faults = []Fault{{Kind: "kill", Target: "node1", Start: 5}, {Kind: "kill", Target: "node2", Start: 6}, {Kind: "partition", Target: "node3", Start: 7, End: 9}}
	s := mustCheck(t, h)
	wantCounts(t, s, nil)
	if !s.OK() || s.Err() != nil {
		t.Fatalf("clean history failed: %v\n%s", s.Err(), s)
	}
	checks := []struct {
		name      string
		got, want int
	}{
		{"chats", s.Chats, 3},
		{"operations", s.Operations, 2*10 + 2*200},
		{"acknowledged", s.Acknowledged, 2*3 + 200},
		{"retries", s.Retries, 2},
		{"ambiguous", s.Ambiguous, 2},
		{"unretryable", s.Unretryable, 2},
		{"unretryable send 410", s.UnretryableKinds["send:http410/status2/code105"], 2},
		{"kills", s.Faults["kill"], 2},
		{"partitions", s.Faults["partition"], 1},
		{"unknown", s.Unknown, 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

// TestViolationsCaught checks that each kind of bad history is reported as
// that kind, together with whatever else it necessarily breaks.
func TestViolationsCaught(t *testing.T) {
	c, a := "client", "agent"
	tests := []struct {
		name string
		chat Chat
		want map[Violation]int
	}{{
		name: "acknowledged message missing from the final transcript",
		chat: Chat{ID: "x", Ops: []Op{sendOp(c, "m1", 10, 20, Acked)}, Final: final(joined(1, c))},
		want: map[Violation]int{Lost: 1, NonLinearizable: 1},
	}, {
		name: "refresh started after the acknowledgement misses the message",
		chat: Chat{ID: "x",
			Ops: []Op{
				sendOp(c, "m1", 10, 20, Acked),
				refreshOp(a, 1, 30, 40, joined(1, c)),
			},
			Final: final(joined(1, c), msg(2, c, "m1")),
		},
		want: map[Violation]int{Lost: 1, NonLinearizable: 1},
	}, {
		name: "message twice in the final transcript",
		chat: Chat{ID: "x", Ops: []Op{sendOp(c, "m1", 10, 20, Acked)}, Final: final(joined(1, c), msg(2, c, "m1"), msg(3, c, "m1"))},
		want: map[Violation]int{Duplicated: 1, NonLinearizable: 1},
	}, {
		name: "message twice in one answer",
		chat: Chat{ID: "x", Ops: []Op{
			sendOp(c, "m1", 10, 20, Acked),
			refreshOp(a, 2, 30, 40, msg(2, c, "m1"), msg(3, c, "m1")),
		}},
		want: map[Violation]int{Duplicated: 1, NonLinearizable: 1},
	}, {
		name: "message at two indexes across answers",
		chat: Chat{ID: "x", Ops: []Op{
			sendOp(c, "m1", 10, 20, Acked),
			refreshOp(a, 1, 30, 40, joined(1, c), msg(2, c, "m1")),
			refreshOp(c, 3, 50, 60, msg(3, c, "m1")),
		}},
		want: map[Violation]int{Duplicated: 1, NonLinearizable: 1},
	}, {
		name: "acknowledged messages of one sender reordered",
		chat: Chat{ID: "x",
			Ops:   []Op{sendOp(c, "m1", 10, 20, Acked), sendOp(c, "m2", 30, 40, Acked)},
			Final: final(joined(1, c), msg(2, c, "m2"), msg(3, c, "m1")),
		},
		want: map[Violation]int{Reordered: 1, NonLinearizable: 1},
	}, {
		name: "two readers saw different events at one index",
		chat: Chat{ID: "x", Ops: []Op{
			refreshOp(c, 1, 10, 20, joined(1, c), joined(2, a)),
			refreshOp(a, 1, 30, 40, joined(1, c), left(2, a)),
		}},
		want: map[Violation]int{Divergent: 1},
	}, {
		name: "one reader saw different events at one index at two times",
		chat: Chat{ID: "x",
			Ops: []Op{
				refreshOp(c, 1, 10, 20, joined(1, c), joined(2, a)),
				refreshOp(c, 2, 30, 40, left(2, a)),
			},
			Final: final(joined(1, c), joined(2, a)),
		},
		want: map[Violation]int{Divergent: 1},
	}, {
		name: "indexes of an answer not strictly increasing",
		chat: Chat{ID: "x", Ops: []Op{refreshOp(c, 1, 10, 20, joined(1, c), left(3, c), joined(2, a))}},
		want: map[Violation]int{Divergent: 1},
	}, {
		name: "answer holds an index below the refresh's position",
		chat: Chat{ID: "x", Ops: []Op{refreshOp(c, 3, 10, 20, joined(2, a), left(3, a))}},
		want: map[Violation]int{Divergent: 1},
	}, {
		name: "final transcript not dense",
		chat: Chat{ID: "x", Final: final(joined(1, c), joined(2, a), left(4, a))},
		want: map[Violation]int{Divergent: 1},
	}, {
		name: "final transcript with more unseen gaps than typing calls",
		chat: Chat{ID: "x",
			Ops:   []Op{otherOp(a, "startTyping", 10, 20)},
			Final: final(joined(1, c), joined(2, a), left(5, a))},
		want: map[Violation]int{Divergent: 1},
	}, {
		name: "final transcript leaving out a join a reader saw",
		chat: Chat{ID: "x",
			Ops:   []Op{refreshOp(c, 1, 10, 20, joined(1, c), joined(2, a))},
			Final: final(joined(1, c), left(3, a))},
		want: map[Violation]int{Divergent: 1},
	}, {
		name: "final transcript not starting at 1",
		chat: Chat{ID: "x", Final: final(joined(2, c), joined(3, a))},
		want: map[Violation]int{Divergent: 1},
	}, {
		name: "refresh shows a message before anyone sent it",
		chat: Chat{ID: "x",
			Ops: []Op{
				refreshOp(a, 1, 10, 20, joined(1, c), msg(2, c, "m1")),
				sendOp(c, "m1", 30, 40, Acked),
			},
			Final: final(joined(1, c), msg(2, c, "m1")),
		},
		want: map[Violation]int{NonLinearizable: 1},
	}, {
		name: "later reader misses a message an earlier reader saw",
		chat: Chat{ID: "x",
			Ops: []Op{
				sendOp(c, "m1", 10, 100, Ambiguous),
				refreshOp(a, 1, 20, 30, joined(1, c), msg(2, c, "m1")),
				refreshOp(c, 1, 40, 50, joined(1, c)),
			},
		},
		want: map[Violation]int{NonLinearizable: 1},
	}, {
		name: "refresh shows a message nobody sent",
		chat: Chat{ID: "x", Ops: []Op{refreshOp(a, 1, 10, 20, joined(1, c), msg(2, c, "ghost"))}},
		want: map[Violation]int{NonLinearizable: 1},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustCheck(t, history(tc.chat, cleanChat("ok")))
			wantCounts(t, s, tc.want)
			if s.OK() || !errors.Is(s.Err(), ErrViolation) {
				t.Errorf("OK() = %v, Err() = %v for a bad history", s.OK(), s.Err())
			}
			for _, f := range s.Examples {
				if f.Chat != "x" {
					t.Errorf("finding in the clean chat: %s", f)
				}
			}
		})
	}
}

// TestFinalTranscriptMayLeaveOutTyping: a stored final transcript may leave
// out the typing notices readers saw, keeping the indexes of the rest
// (transcript-save-notices=major): the log as readers see it is dense.
func TestFinalTranscriptMayLeaveOutTyping(t *testing.T) {
	c, a := "client", "agent"
	s := mustCheck(t, history(Chat{ID: "x",
		Ops:   []Op{refreshOp(c, 1, 10, 20, joined(1, c), joined(2, a), typingAt(3, a))},
		Final: final(joined(1, c), joined(2, a), left(4, a))}))
	wantCounts(t, s, nil)
	if !s.OK() {
		t.Fatalf("a final transcript without the typing readers saw failed: %v\n%s", s.Err(), s)
	}
}

// TestFinalTranscriptMayLeaveOutUnseenTyping: typing notices nobody read
// (the agent types, then leaves without reading again) leave gaps in the
// final transcript, one for each typing call that took effect.
func TestFinalTranscriptMayLeaveOutUnseenTyping(t *testing.T) {
	c, a := "client", "agent"
	s := mustCheck(t, history(Chat{ID: "x",
		Ops: []Op{
			refreshOp(c, 1, 10, 20, joined(1, c), joined(2, a)),
			otherOp(a, "startTyping", 30, 40), otherOp(a, "stopTyping", 50, 60), otherOp(a, "disconnect", 70, 80),
		},
		Final: final(joined(1, c), joined(2, a), left(5, a))}))
	wantCounts(t, s, nil)
	if !s.OK() {
		t.Fatalf("a final transcript without typing nobody read failed: %v\n%s", s.Err(), s)
	}
}

// TestAmbiguousSendsLegal checks histories that are fine although a send had
// no clear answer: it took effect, or it did not, or its retry did.
func TestAmbiguousSendsLegal(t *testing.T) {
	c, a := "client", "agent"
	tests := []struct {
		name string
		chat Chat
	}{{
		name: "ambiguous send took effect",
		chat: Chat{ID: "x", Ops: []Op{sendOp(c, "m1", 10, 20, Ambiguous), refreshOp(a, 1, 30, 40, msg(1, c, "m1"))}, Final: final(msg(1, c, "m1"))},
	}, {
		name: "ambiguous send did not take effect",
		chat: Chat{ID: "x", Ops: []Op{sendOp(c, "m1", 10, 20, Ambiguous), sendOp(c, "m2", 30, 40, Acked)}, Final: final(msg(1, c, "m2"))},
	}, {
		name: "ambiguous send seen late, after the sender moved on",
		chat: Chat{ID: "x",
			Ops: []Op{
				sendOp(c, "m1", 10, 20, Ambiguous),
				refreshOp(a, 1, 25, 28),
				sendOp(c, "m2", 30, 40, Acked),
				refreshOp(a, 1, 50, 60, msg(1, c, "m2"), msg(2, c, "m1")),
			},
			Final: final(msg(1, c, "m2"), msg(2, c, "m1")),
		},
	}, {
		name: "retry answered then acknowledged on retry",
		chat: Chat{ID: "x", Ops: []Op{sendOp(c, "m1", 10, 20, Retry), sendOp(c, "m1", 21, 30, Acked)}, Final: final(msg(1, c, "m1"))},
	}, {
		name: "concurrent sends of two participants in either order",
		chat: Chat{ID: "x",
			Ops:   []Op{sendOp(c, "m1", 10, 40, Acked), sendOp(a, "m2", 20, 30, Acked), refreshOp(a, 1, 35, 38, msg(1, a, "m2"))},
			Final: final(msg(1, a, "m2"), msg(2, c, "m1")),
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustCheck(t, history(tc.chat))
			wantCounts(t, s, nil)
		})
	}
}

func TestPagedRefreshCheckedAsPrefix(t *testing.T) {
	c := "client"
	ch := Chat{ID: "x",
		Ops: []Op{
			sendOp(c, "m1", 10, 20, Acked), sendOp(c, "m2", 21, 30, Acked), sendOp(c, "m3", 31, 40, Acked),
			refreshOp(c, 1, 50, 60, msg(1, c, "m1"), msg(2, c, "m2")),
		},
		Final: final(msg(1, c, "m1"), msg(2, c, "m2"), msg(3, c, "m3")),
	}
	tests := []struct {
		pageSize int
		want     map[Violation]int
	}{
		{pageSize: 0, want: map[Violation]int{Lost: 1, NonLinearizable: 1}},
		{pageSize: 2, want: nil},
	}
	for _, tc := range tests {
		cfg := DefaultConfig()
		cfg.PageSize = tc.pageSize
		s, err := Check(history(ch), cfg)
		if err != nil {
			t.Fatal(err)
		}
		wantCounts(t, s, tc.want)
	}
}

func TestTimeoutIsUnknownNotViolation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Timeout = time.Nanosecond
	s, err := Check(history(bigChat("big", 3000)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Unknown != 1 || len(s.UnknownChats) != 1 || s.UnknownChats[0] != "big" {
		t.Errorf("Unknown = %d %v, want 1 [big]", s.Unknown, s.UnknownChats)
	}
	if !s.OK() {
		t.Errorf("a timed-out search is not a violation: %v", s.Err())
	}
}

func TestExamplesBounded(t *testing.T) {
	ch := Chat{ID: "x"}
	for i := range 20 {
		ch.Ops = append(ch.Ops, sendOp("client", string(rune('a'+i)), int64(i*10), int64(i*10+5), Acked))
	}
	ch.Final = final()
	cfg := DefaultConfig()
	cfg.Examples = 3
	s, err := Check(history(ch), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Counts[Lost] != 20 || countOf(s.Examples, Lost) != 3 {
		t.Errorf("lost %d with %d examples, want 20 with 3", s.Counts[Lost], countOf(s.Examples, Lost))
	}
}

func TestSummaryString(t *testing.T) {
	s := mustCheck(t, history(Chat{ID: "x", Ops: []Op{sendOp("client", "m1", 10, 20, Acked)}, Final: final()}))
	out := s.String()
	for _, want := range []string{"seed 7", "chats                  1", "messages acknowledged  1", "lost                   1",
		"non-linearizable       1", "result                 FAIL", "example lost: chat x:"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "lost 1") {
		t.Errorf("Err() = %v, want it to count lost 1", err)
	}
}

func TestCheckRejectsBadInput(t *testing.T) {
	ok := cleanChat("a")
	tests := []struct {
		name string
		h    *History
		cfg  func(*Config)
		want string
	}{
		{name: "nil history", h: nil, want: "nil"},
		{name: "no chat id", h: history(Chat{}), want: "no id"},
		{name: "chat twice", h: history(ok, ok), want: "twice"},
		{name: "no participant", h: history(Chat{ID: "x", Ops: []Op{{Kind: Other, Outcome: Acked}}}), want: "no participant"},
		{name: "unknown kind", h: history(Chat{ID: "x", Ops: []Op{{Participant: "c", Outcome: Acked}}}), want: "unknown kind"},
		{name: "unknown outcome", h: history(Chat{ID: "x", Ops: []Op{{Participant: "c", Kind: Other}}}), want: "unknown outcome"},
		{name: "return before call", h: history(Chat{ID: "x", Ops: []Op{sendOp("c", "m", 10, 5, Acked)}}), want: "not an interval"},
		{name: "send without text", h: history(Chat{ID: "x", Ops: []Op{sendOp("c", "", 1, 5, Acked)}}), want: "without text"},
		{name: "refresh from 0", h: history(Chat{ID: "x", Ops: []Op{refreshOp("c", 0, 1, 5)}}), want: "position 0"},
		{name: "event without type", h: history(Chat{ID: "x", Final: final(Event{Index: 1})}), want: "no type"},
		{name: "negative index", h: history(Chat{ID: "x", Final: final(Event{Index: -1, Type: "Notice"})}), want: "index -1"},
		{name: "zero timeout", h: history(ok), cfg: func(c *Config) { c.Timeout = 0 }, want: "Timeout"},
		{name: "negative page size", h: history(ok), cfg: func(c *Config) { c.PageSize = -1 }, want: "PageSize"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			_, err := Check(tc.h, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check() error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		status, statusCode int
		want               Outcome
	}{
		{200, 0, Acked},
		{200, 1, Retry},
		{409, 1, Retry},
		{409, 2, Retry},
		{503, 2, Retry},
		{0, 0, Ambiguous},
		{200, 2, Failed},
		{400, 2, Failed},
		{404, 2, Failed},
		{410, 2, Failed},
		{500, 2, Failed},
	}
	for _, tc := range tests {
		if got := Classify(tc.status, tc.statusCode); got != tc.want {
			t.Errorf("Classify(%d, %d) = %v, want %v", tc.status, tc.statusCode, got, tc.want)
		}
	}
}
