package check

import (
	"fmt"
	"maps"
	"os"
	"testing"
)

// Builders of hand-made histories. Times are in arbitrary units.

func sendOp(who, text string, call, ret int64, out Outcome) Op {
	op := Op{Participant: who, Kind: Send, Action: "send", Text: text, Call: call, Return: ret, Outcome: out}
	switch out {
	case Acked:
		op.Status = 200
	case Retry:
		op.Status, op.StatusCode, op.Code = 409, 1, 106
	case Failed:
		op.Status, op.StatusCode, op.Code = 410, 2, 105
	case Ambiguous:
		op.Error = "timeout"
	}
	return op
}

func refreshOp(who string, pos int, call, ret int64, evs ...Event) Op {
	return Op{Participant: who, Kind: Refresh, Action: "refresh", Position: pos, Call: call, Return: ret, Outcome: Acked, Status: 200, Events: evs}
}

func otherOp(who, action string, call, ret int64) Op {
	return Op{Participant: who, Kind: Other, Action: action, Call: call, Return: ret, Outcome: Acked, Status: 200}
}

func msg(idx int, from, text string) Event {
	return Event{Index: idx, Type: TypeMessage, From: from, Text: text}
}

func joined(idx int, who string) Event {
	return Event{Index: idx, Type: "ParticipantJoined", From: who}
}

func left(idx int, who string) Event {
	return Event{Index: idx, Type: "ParticipantLeft", From: who}
}

func typing(who string) Event {
	return Event{Type: "TypingStarted", From: who}
}

func typingAt(idx int, who string) Event {
	return Event{Index: idx, Type: "TypingStarted", From: who}
}

func final(evs ...Event) *Transcript { return &Transcript{Events: evs} }

func history(chats ...Chat) *History { return &History{Seed: 7, Chats: chats} }

// mustCheck checks h with the default configuration.
func mustCheck(t *testing.T, h *History) *Summary {
	t.Helper()
	s, err := Check(h, DefaultConfig())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return s
}

// wantCounts fails unless s counted exactly want.
func wantCounts(t *testing.T, s *Summary, want map[Violation]int) {
	t.Helper()
	if want == nil {
		want = map[Violation]int{}
	}
	if !maps.Equal(s.Counts, want) {
		t.Errorf("violations %v, want %v\n%s", s.Counts, want, s)
	}
	for v := range want {
		if !hasExample(s, v) {
			t.Errorf("no example of %s reported\n%s", v, s)
		}
	}
}

func hasExample(s *Summary, v Violation) bool {
	for _, f := range s.Examples {
		if f.Violation == v && f.Chat != "" && f.Detail != "" {
			return true
		}
	}
	return false
}

// cleanChat is a chat in which everything went right, with a retried
// message, an ambiguous send nobody saw, a failed call, typing notices and
// concurrent sends of client and agent.
func cleanChat(id string) Chat {
	c, a := "client", "agent"
	return Chat{
		ID: id,
		Ops: []Op{
			sendOp(c, id+"-c1", 10, 20, Acked),
			otherOp(a, "join", 21, 25),
			sendOp(a, id+"-a1", 30, 40, Acked),
			sendOp(c, id+"-c2", 35, 38, Retry),
			sendOp(c, id+"-c2", 39, 50, Acked),
			refreshOp(c, 3, 52, 58, joined(3, a), msg(4, a, id+"-a1"), msg(5, c, id+"-c2"), typing(a)),
			refreshOp(a, 1, 55, 60, joined(1, c), msg(2, c, id+"-c1"), joined(3, a), msg(4, a, id+"-a1"), msg(5, c, id+"-c2")),
			sendOp(c, id+"-c3", 60, 70, Ambiguous),
			sendOp(a, id+"-a2", 61, 71, Failed),
			refreshOp(c, 6, 72, 75),
		},
		Final: final(joined(1, c), msg(2, c, id+"-c1"), joined(3, a), msg(4, a, id+"-a1"), msg(5, c, id+"-c2")),
	}
}

// bigChat is a long clean chat of n messages, each read back by the other
// participant.
func bigChat(id string, n int) Chat {
	ch := Chat{ID: id}
	var all []Event
	for i := range n {
		who := []string{"client", "agent"}[i%2]
		text := fmt.Sprintf("%s-%d", id, i)
		t := int64(i * 10)
		ch.Ops = append(ch.Ops, sendOp(who, text, t, t+5, Acked))
		all = append(all, msg(i+1, who, text))
		ch.Ops = append(ch.Ops, refreshOp([]string{"agent", "client"}[i%2], i+1, t+6, t+9, all[i]))
	}
	ch.Final = final(all...)
	return ch
}

func assertFile(t *testing.T, path string) {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("want a non-empty file %s: %v", path, err)
	}
}

func countOf(fs []Finding, v Violation) int {
	n := 0
	for _, f := range fs {
		if f.Violation == v {
			n++
		}
	}
	return n
}
