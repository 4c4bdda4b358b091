package check

import (
	"errors"
	"fmt"
	"net/http"
)

var (
	// ErrInvalidHistory is wrapped by every error about a malformed history.
	ErrInvalidHistory = errors.New("invalid history")
	// ErrViolation is wrapped by Summary.Err when a check failed.
	ErrViolation = errors.New("history violates the chat guarantees")
)

// TypeMessage is the event type of a chat message, the only type the
// transcript model and the lost, duplicated and reordered checks look at.
const TypeMessage = "Message"

// History is everything the participants of a run saw, chat by chat, with the
// seed that made the run and the faults injected into it. It is what a failing
// run saves and what Replay checks again.
type History struct {
	// Seed is the seed of the run's schedule.
	Seed int64 `json:"seed"`
	// Faults are the faults injected, in the order they started.
	Faults []Fault `json:"faults,omitempty"`
	// Chats are the per-chat histories.
	Chats []Chat `json:"chats"`
}

// Fault is one fault injected during a run.
type Fault struct {
	// Kind names the kind of fault ("kill", "pause", "partition", ...).
	Kind string `json:"kind"`
	// Target names what it hit (a node or proxy name).
	Target string `json:"target,omitempty"`
	// Start and End are when it began and was undone, in nanoseconds from the
	// run's origin; End is 0 for a fault that was not undone.
	Start int64 `json:"start"`
	End   int64 `json:"end,omitempty"`
}

// Chat is the history of one chat: every call any participant made, and the
// final transcript read after the run.
type Chat struct {
	// ID is the chat's id.
	ID string `json:"id"`
	// Ops are the calls of all participants, in any order.
	Ops []Op `json:"ops"`
	// Final is the final transcript, nil when none could be read.
	Final *Transcript `json:"final,omitempty"`
}

// Transcript is a chat's final transcript: the stored final transcript
// (which may leave out typing notices and notices, at their indexes), or a
// last full refresh from position 1 after the run.
type Transcript struct {
	// At is when it was read, in nanoseconds from the run's origin; 0 means
	// after every call of the chat.
	At int64 `json:"at,omitempty"`
	// Events are its events in index order.
	Events []Event `json:"events"`
}

// Op is one call as the participant who made it saw it.
type Op struct {
	// Participant names the caller, unique within the chat ("client", "agent").
	Participant string `json:"participant"`
	// Kind is what the call did.
	Kind Kind `json:"kind"`
	// Action is the API action ("create", "send", "refresh", "startTyping",
	// "join", ...), for reports only.
	Action string `json:"action,omitempty"`
	// Text is the message of a send. Each message has a text no other message
	// has; a retry of the same message keeps its text (and request id).
	Text string `json:"text,omitempty"`
	// Position is the transcriptPosition of a refresh (1-based).
	Position int `json:"position,omitempty"`
	// Call and Return are when the call started and ended, in nanoseconds from
	// the run's origin (a monotonic clock shared by all participants).
	Call   int64 `json:"call"`
	Return int64 `json:"return"`
	// Outcome is how the call ended.
	Outcome Outcome `json:"outcome"`
	// Status is the HTTP status of the answer, 0 when there was none.
	Status int `json:"status,omitempty"`
	// StatusCode is the answer's statusCode.
	StatusCode int `json:"statusCode,omitempty"`
	// Code is the first error code of the answer, 0 when it had none.
	Code int `json:"code,omitempty"`
	// Error is the answer's error message or the transport error, for reports.
	Error string `json:"error,omitempty"`
	// Events are the events the answer carried, in answer order.
	Events []Event `json:"events,omitempty"`
}

// Event is one event of an answer or of a transcript.
type Event struct {
	// Index is the event's transcript index (1-based); 0 for an event
	// outside the transcript.
	Index int `json:"index"`
	// Type is the event type ("Message", "ParticipantJoined", ...).
	Type string `json:"type"`
	// From names the sender; it must name a participant the same way in every
	// answer (for example its type and nickname).
	From string `json:"from,omitempty"`
	// Text is the message or notice text.
	Text string `json:"text,omitempty"`
}

// Kind is what an operation did.
type Kind int

// Kinds of operation.
const (
	// Send posts a message with a unique text; a create that carries a
	// first message is a send of that message.
	Send Kind = iota + 1
	// Refresh reads the transcript from a position.
	Refresh
	// Other is any other action (typing, join, disconnect, ...).
	Other
)

var kindNames = map[Kind]string{Send: "send", Refresh: "refresh", Other: "other"}

// String returns the kind's name.
func (k Kind) String() string { return enumString(kindNames, k) }

// MarshalText encodes the kind by name.
func (k Kind) MarshalText() ([]byte, error) { return enumMarshal(kindNames, k) }

// UnmarshalText decodes a kind's name.
func (k *Kind) UnmarshalText(b []byte) error { return enumUnmarshal(kindNames, k, b) }

// Outcome is how a call ended, as its participant saw it.
type Outcome int

// Outcomes of a call.
const (
	// Acked: HTTP 200 with statusCode 0; a send is acknowledged.
	Acked Outcome = iota + 1
	// Retry: the answer asked to retry (statusCode 1, HTTP 409 or 503).
	Retry
	// Failed: an error answer the client could not retry.
	Failed
	// Ambiguous: no answer (timeout, connection error); the call may or may
	// not have taken effect.
	Ambiguous
)

var outcomeNames = map[Outcome]string{Acked: "ack", Retry: "retry", Failed: "error", Ambiguous: "ambiguous"}

// String returns the outcome's name.
func (o Outcome) String() string { return enumString(outcomeNames, o) }

// MarshalText encodes the outcome by name.
func (o Outcome) MarshalText() ([]byte, error) { return enumMarshal(outcomeNames, o) }

// UnmarshalText decodes an outcome's name.
func (o *Outcome) UnmarshalText(b []byte) error { return enumUnmarshal(outcomeNames, o, b) }

// Classify returns the outcome of an answer with HTTP status status (0 when
// no answer came) and the answer's statusCode.
func Classify(status, statusCode int) Outcome {
	switch {
	case status == 0:
		return Ambiguous
	case statusCode == 1, status == http.StatusConflict, status == http.StatusServiceUnavailable:
		return Retry
	case status == http.StatusOK && statusCode == 0:
		return Acked
	default:
		return Failed
	}
}

func enumString[E comparable](names map[E]string, e E) string {
	if s, ok := names[e]; ok {
		return s
	}
	return fmt.Sprintf("%T(%v)", e, e)
}

func enumMarshal[E comparable](names map[E]string, e E) ([]byte, error) {
	if s, ok := names[e]; ok {
		return []byte(s), nil
	}
	return nil, fmt.Errorf("cannot encode %T %v: not a known value", e, e)
}

func enumUnmarshal[E comparable](names map[E]string, e *E, b []byte) error {
	for v, s := range names {
		if s == string(b) {
			*e = v
			return nil
		}
	}
	return fmt.Errorf("cannot decode %T %q: not a known name", *e, b)
}

// Validate reports the first malformed part of h, wrapping ErrInvalidHistory.
func (h *History) Validate() error {
	seen := make(map[string]bool, len(h.Chats))
	for i := range h.Chats {
		c := &h.Chats[i]
		if c.ID == "" {
			return fmt.Errorf("%w: chat %d has no id", ErrInvalidHistory, i)
		}
		if seen[c.ID] {
			return fmt.Errorf("%w: chat %q appears twice", ErrInvalidHistory, c.ID)
		}
		seen[c.ID] = true
		if err := c.validate(); err != nil {
			return fmt.Errorf("%w: chat %q: %w", ErrInvalidHistory, c.ID, err)
		}
	}
	return nil
}

func (c *Chat) validate() error {
	for i := range c.Ops {
		if err := c.Ops[i].validate(); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
	}
	if c.Final == nil {
		return nil
	}
	if c.Final.At < 0 {
		return fmt.Errorf("final transcript read at %d, before the origin", c.Final.At)
	}
	return validateEvents(c.Final.Events)
}

func (o *Op) validate() error {
	switch {
	case o.Participant == "":
		return errors.New("no participant")
	case kindNames[o.Kind] == "":
		return fmt.Errorf("unknown kind %d", o.Kind)
	case outcomeNames[o.Outcome] == "":
		return fmt.Errorf("unknown outcome %d", o.Outcome)
	case o.Call < 0 || o.Return < o.Call:
		return fmt.Errorf("call %d and return %d are not an interval from the origin", o.Call, o.Return)
	case o.Kind == Send && o.Text == "":
		return errors.New("a send without text")
	case o.Kind == Refresh && o.Position < 1:
		return fmt.Errorf("a refresh from position %d (positions start at 1)", o.Position)
	}
	return validateEvents(o.Events)
}

func validateEvents(evs []Event) error {
	for i, e := range evs {
		if e.Index < 0 {
			return fmt.Errorf("event %d has index %d", i, e.Index)
		}
		if e.Type == "" {
			return fmt.Errorf("event %d has no type", i)
		}
	}
	return nil
}
