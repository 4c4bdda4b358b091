package chaos

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chaos/check"
)

func reply(status, statusCode int, ended bool, code int) *api.Reply {
	r := &api.Reply{Status: status, Answer: api.Answer{StatusCode: statusCode, ChatEnded: ended}}
	if code != 0 {
		r.Errors = []api.ErrorEntry{{Code: code, Message: "m"}}
	}
	return r
}

func TestOutcome(t *testing.T) {
	tests := []struct {
		name  string
		r     *api.Reply
		err   error
		want  check.Outcome
		ended bool
	}{
		{"no answer", nil, errors.New("connection refused"), check.Ambiguous, false},
		{"acknowledged", reply(200, 0, false, 0), nil, check.Acked, false},
		{"normal end, GMS style", reply(200, 0, true, 0), nil, check.Acked, true},
		{"normal end, statusCode 2", reply(200, 2, true, 0), nil, check.Failed, true},
		{"moved", reply(409, 1, false, api.CodeMoved), nil, check.Retry, false},
		{"no node", reply(503, 1, false, api.CodeNoNode), nil, check.Retry, false},
		{"store out, retry", reply(503, 1, false, api.CodeStore), nil, check.Retry, false},
		{"closed by a failed save", reply(503, 2, true, api.CodeStore), nil, check.Failed, true},
		{"request id reused", reply(409, 2, false, api.CodeRequestReused), nil, check.Failed, false},
		{"ended", reply(410, 2, true, api.CodeChatEnded), nil, check.Failed, true},
		{"bad answer", reply(502, 2, false, api.CodeBadAnswer), nil, check.Failed, false},
		{"not the API's JSON", &api.Reply{Status: 502}, errors.New("answer 502 is not a chat API answer"), check.Failed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var op check.Op
			if got := outcome(&op, tc.r, tc.err); got != tc.want {
				t.Errorf("outcome = %v, want %v (op %+v)", got, tc.want, op)
			}
			if got := endsChat(tc.r); got != tc.ended {
				t.Errorf("endsChat = %v, want %v", got, tc.ended)
			}
			if tc.want == check.Failed && tc.ended != endedOp(&op) {
				t.Errorf("endedOp of the recorded call = %v, want %v (op %+v)", !tc.ended, tc.ended, op)
			}
		})
	}
}

// failed returns a failed call of who doing action, recorded from r.
func failed(who, action string, at time.Duration, r *api.Reply) check.Op {
	op := check.Op{Participant: who, Kind: check.Other, Action: action, Call: int64(at), Return: int64(at + time.Millisecond)}
	op.Outcome = outcome(&op, r, nil)
	return op
}

// TestJudge: the errors the run expects (a normal end, a join retried, the
// end of a chat a store outage closed) are told apart from the rest.
func TestJudge(t *testing.T) {
	s := time.Second
	h := &check.History{
		Faults: []check.Fault{{Kind: faultStore, Start: int64(10 * s), End: int64(20 * s)}},
		Chats: []check.Chat{{
			ID: "normal",
			Ops: []check.Op{
				failed(agent, "join", 1*s, reply(409, 2, false, api.CodeNotAllowed)),
				failed(client, "disconnect", 5*s, reply(200, 2, true, 0)),
			},
		}, {
			ID: "closed in the outage",
			Ops: []check.Op{
				failed(client, "send", 15*s, reply(503, 2, true, api.CodeStore)),
				failed(client, "disconnect", 16*s, reply(503, 2, true, api.CodeStore)),
				failed(agent, "refresh", 29*s, reply(410, 2, true, api.CodeChatEnded)),
			},
		}, {
			ID: "ended outside an outage",
			Ops: []check.Op{
				failed(agent, "send", 40*s, reply(410, 2, true, api.CodeChatEnded)),
				failed(client, "refresh", 41*s, reply(502, 2, false, api.CodeBadAnswer)),
				failed(client, "send", 42*s, reply(403, 2, false, api.CodeBadKey)),
				failed(client, "send", 43*s, reply(409, 2, false, api.CodeRequestReused)),
			},
		}},
	}
	v := judge(h)
	wantExpected := map[string]int{
		"join retried: join:http409/status2/code112":                   1,
		"normal end: disconnect:http200/status2":                       1,
		"closed by a store outage: send:http503/status2/code108":       1,
		"closed by a store outage: refresh:http410/status2/code105":    1,
		"closed by a store outage: disconnect:http503/status2/code108": 1,
	}
	wantUnexpected := map[string]int{
		"send:http410/status2/code105":    1,
		"refresh:http502/status2/code121": 1,
		"send:http403/status2/code104":    1,
		"send:http409/status2/code113":    1,
	}
	if !maps.Equal(v.expected, wantExpected) {
		t.Errorf("expected = %v, want %v", v.expected, wantExpected)
	}
	if !maps.Equal(v.unexpected, wantUnexpected) {
		t.Errorf("unexpected = %v, want %v", v.unexpected, wantUnexpected)
	}
	if len(v.examples) != 4 {
		t.Errorf("%d examples, want 4:\n%s", len(v.examples), v)
	}
}

// TestOutageWindows: a store outage is stretched by its store's grace, and
// one never healed lasts to the end.
func TestOutageWindows(t *testing.T) {
	s := int64(time.Second)
	faults := []check.Fault{
		{Kind: faultKill, Target: "node-1", Start: 1 * s, End: 2 * s},
		{Kind: faultStore, Target: "sqlite", Start: 10 * s, End: 20 * s},
		{Kind: faultStore, Target: cassandraTarget + "1+" + cassandraTarget + "3", Start: 30 * s, End: 40 * s},
		{Kind: faultStore, Target: "sqlite", Start: 50 * s},
	}
	want := []window{
		{10 * s, 20*s + int64(outageGrace)},
		{30 * s, 40*s + int64(cassandraOutageGrace)},
		{50 * s, 1<<63 - 1},
	}
	if got := outageWindows(faults); !slices.Equal(got, want) {
		t.Errorf("outageWindows = %v, want %v", got, want)
	}
}
