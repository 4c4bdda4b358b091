package chaos

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chaos/check"
	"github.com/chatha/chatha/chat"
)

// This file holds every expectation the run has of chatha's answers: how an
// answer becomes an outcome, what ends a chat normally, which errors a client
// could not retry are expected under which fault, and how long a participant
// may go without an answer. When the API changes (another statusCode for a
// normal end, indexed typing notices), this is the file to change.

const (
	// stallLimit is how long a participant may go without an acknowledged
	// call before the run counts it as stalled; the wait starts again when
	// a store outage fault ends (workload.waitFrom), since until then a chat
	// may have nowhere to go. The longest expected wait after that is the
	// grace of a Cassandra outage (cassandraOutageGrace), then a failover.
	stallLimit = 90 * time.Second
	// outageGrace is how long after a store outage was healed a chat may
	// still be found closed by it: a participant learns of the close with its
	// next call.
	outageGrace = 10 * time.Second
	// cassandraOutageGrace is outageGrace after a Cassandra outage: the two
	// replicas started again answer only once they caught up, and until then
	// (20 s and more on 2 cores, JVMs warming up, the chat nodes under the
	// race detector) appends time out and chats are closed by the outage,
	// as transcript-save-on-error=close asks.
	cassandraOutageGrace = 60 * time.Second
	// callTimeout bounds one call of a participant. It is longer than a
	// proxy's failover of a request (a timed-out attempt, then the successor).
	callTimeout = 10 * time.Second
)

// Who the participants of a chat are, as recorded.
const (
	client = "client"
	agent  = "agent"
)

// outcome fills op with what a call returned (r and err, as an api.Client
// gives them) and returns how it ended:
//   - no answer (a connection error, a timeout): Ambiguous;
//   - HTTP 200 and statusCode 0: Acked (a normal end answered with
//     chatEnded and statusCode 0 too);
//   - an answer that ends the chat (chatEnded, statusCode 2), or one that
//     refuses the request for good (statusCode 2 with any HTTP status, such
//     as 409 for a reused request id): Failed, whatever its HTTP status;
//   - statusCode 1, or a 409 or 503 without statusCode 2: Retry;
//   - anything else: Failed.
//
// check.Classify counts a 409 or 503 as a retry whatever its statusCode; a
// chat closed by a failed save (503, statusCode 2, chatEnded) and a reused
// request id (409, statusCode 2) cannot be retried, so they are errors here.
func outcome(op *check.Op, r *api.Reply, err error) check.Outcome {
	if r == nil || r.Status == 0 {
		if err != nil {
			op.Error = err.Error()
		}
		return check.Ambiguous
	}
	op.Status, op.StatusCode = r.Status, r.StatusCode
	if len(r.Errors) > 0 {
		op.Code, op.Error = r.Errors[0].Code, r.Errors[0].Message
	}
	if err != nil { // an answer that is not the chat API's JSON
		op.StatusCode = api.StatusError
		op.Error = err.Error()
	}
	op.Events = events(r.Messages)
	if op.StatusCode == api.StatusError {
		return check.Failed
	}
	return check.Classify(op.Status, op.StatusCode)
}

// endsChat tells whether an answer says the chat is over: chatEnded with
// statusCode 0 (a normal end, as the GMS API answers it) or 2 (a chat
// closed abnormally, and a normal end as nodes answered it before they
// answered as GMS does).
func endsChat(r *api.Reply) bool {
	return r != nil && r.ChatEnded && (r.StatusCode == api.StatusOK || r.StatusCode == api.StatusError)
}

// endedOp tells, from a recorded call, whether its answer said the chat was
// over: a 410, a chat closed by a failed save (503, code 108, statusCode 2),
// or a 200 with statusCode 2 (an ended chat's answer).
func endedOp(op *check.Op) bool {
	switch {
	case op.Code == api.CodeChatEnded:
		return true
	case op.Code == api.CodeStore && op.StatusCode == api.StatusError:
		return true
	}
	return op.Status == 200 && op.StatusCode == api.StatusError && op.Code == 0
}

// normalEnd tells whether a recorded call is the client's disconnect
// answered with the chat's end: statusCode 0 with chatEnded (GMS) or 200
// with statusCode 2 (nodes before they answered as GMS does), or a 410 (a
// retried disconnect that finds the chat ended). A disconnect refused because its save failed (503, code 108)
// closed the chat instead: that is no normal end.
func normalEnd(op *check.Op) bool {
	if op.Participant != client || op.Action != "disconnect" {
		return false
	}
	return op.Outcome == check.Acked || op.Status == 200 && op.StatusCode == api.StatusError || op.Code == api.CodeChatEnded
}

// events turns an answer's messages into the checker's events. A sender is
// named by its type and nickname, the same in every answer.
func events(ms []chat.Message) []check.Event {
	if len(ms) == 0 {
		return nil
	}
	out := make([]check.Event, len(ms))
	for i, m := range ms {
		out[i] = check.Event{Index: m.Index, Type: m.Type, From: m.From.Type + "/" + m.From.Nickname, Text: m.Text}
	}
	return out
}

// verdict sorts the errors a client could not retry into expected and
// unexpected ones, each counted by kind.
type verdict struct {
	// expected counts expected errors by reason and kind.
	expected map[string]int
	// unexpected counts the others by kind.
	unexpected map[string]int
	// examples describes the first unexpected ones.
	examples []string
}

// maxExamples is how many unexpected errors a verdict describes.
const maxExamples = 10

// judge sorts every failed call of h. It reads only the history, so a
// replayed history is judged as the run judged it.
func judge(h *check.History) verdict {
	v := verdict{expected: map[string]int{}, unexpected: map[string]int{}}
	windows := outageWindows(h.Faults)
	for i := range h.Chats {
		c := &h.Chats[i]
		closed := closedByOutage(c, windows)
		for j := range c.Ops {
			op := &c.Ops[j]
			if op.Outcome != check.Failed {
				continue
			}
			kind := check.ErrorKind(op)
			if why := expectedError(op, closed); why != "" {
				v.expected[why+": "+kind]++
				continue
			}
			v.unexpected[kind]++
			if len(v.examples) < maxExamples {
				v.examples = append(v.examples, fmt.Sprintf("chat %s: %s by %s at %v: %s", c.ID, op.Action, op.Participant, time.Duration(op.Call).Round(time.Millisecond), op.Error))
			}
		}
	}
	return v
}

// expectedError returns why a failed call is expected, "" when it is not:
//   - the client's disconnect answered with the chat's end with statusCode 2
//     (as nodes did before they answered as GMS does), or a retried
//     disconnect that finds the chat ended (410);
//   - an agent's join retried after its answer was lost: the node did it
//     and cannot give the secure key again (409, code 112); the agent joins
//     with a new request id;
//   - the end of a chat a store outage closed (transcript-save-on-error=close).
//
// Anything else is unexpected: a 5xx other than a chat closed by a failed
// save, a 403 (credentials lost), a 404 (a chat lost), a 410 outside a store
// outage, a 409 for a reused request id, a 400.
func expectedError(op *check.Op, closedByOutage bool) string {
	switch {
	case normalEnd(op):
		return "normal end"
	case op.Action == "join" && op.Status == 409 && op.Code == api.CodeNotAllowed:
		return "join retried"
	case closedByOutage && endedOp(op):
		return "closed by a store outage"
	}
	return ""
}

// window is a time interval from the run's origin, in nanoseconds.
type window struct{ from, to int64 }

// outageWindows returns when the store was out, each interval stretched by
// outageGrace (cassandraOutageGrace for Cassandra); an outage never healed
// lasts to the end.
func outageWindows(faults []check.Fault) []window {
	var ws []window
	for _, f := range faults {
		if f.Kind != faultStore {
			continue
		}
		grace := outageGrace
		if strings.HasPrefix(f.Target, cassandraTarget) {
			grace = cassandraOutageGrace
		}
		to := int64(1<<63 - 1)
		if f.End > 0 {
			to = f.End + int64(grace)
		}
		ws = append(ws, window{f.Start, to})
	}
	return ws
}

// closedByOutage tells whether some participant of c learnt of the chat's
// end during a store outage: the chat was closed because its transcript could
// not be saved.
func closedByOutage(c *check.Chat, ws []window) bool {
	for i := range c.Ops {
		op := &c.Ops[i]
		if op.Outcome != check.Failed || !endedOp(op) {
			continue
		}
		for _, w := range ws {
			if op.Return >= w.from && op.Call <= w.to {
				return true
			}
		}
	}
	return false
}

// String renders the verdict in the summary's style.
func (v verdict) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-22s %s\n", "expected errors", counts(v.expected))
	fmt.Fprintf(&b, "  %-22s %s\n", "unexpected errors", counts(v.unexpected))
	for _, e := range v.examples {
		fmt.Fprintf(&b, "  unexpected %s\n", e)
	}
	return b.String()
}

// counts renders counts as "a=1, b=2" in key order, "none" when empty.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
