package chatnode

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventType is the kind of a transcript event.
type EventType uint8

// Event types. Those before EventDataUpdated are shown to clients; the others are
// internal records that only change state.
const (
	EventParticipantJoined EventType = iota + 1
	EventParticipantLeft
	EventMessage
	EventTypingStarted
	EventTypingStopped
	EventNotice
	EventCustomNotice
	EventPushURL
	EventNicknameUpdated
	EventIdleAlert
	EventIdleClose
	// EventDataUpdated records a userData update (internal).
	EventDataUpdated
	// EventRestored records that a node took the chat over (internal); appending
	// it fences the previous owner at once.
	EventRestored
)

var eventNames = [...]string{
	EventParticipantJoined: "ParticipantJoined",
	EventParticipantLeft:   "ParticipantLeft",
	EventMessage:           "Message",
	EventTypingStarted:     "TypingStarted",
	EventTypingStopped:     "TypingStopped",
	EventNotice:            "Notice",
	EventCustomNotice:      "CustomNotice",
	EventPushURL:           "PushUrl",
	EventNicknameUpdated:   "NicknameUpdated",
	EventIdleAlert:         "IdleAlert",
	EventIdleClose:         "IdleClose",
	EventDataUpdated:       "DataUpdated",
	EventRestored:          "Restored",
}

// String returns the API name of the type.
func (t EventType) String() string {
	if int(t) < len(eventNames) && eventNames[t] != "" {
		return eventNames[t]
	}
	return fmt.Sprintf("EventType(%d)", uint8(t))
}

// Visible reports whether clients see events of this type.
func (t EventType) Visible() bool { return t >= EventParticipantJoined && t < EventDataUpdated }

func (t EventType) valid() bool { return t >= EventParticipantJoined && t <= EventRestored }

// PartyType is the kind of a participant.
type PartyType uint8

// Participant kinds.
const (
	PartyClient PartyType = iota + 1
	PartyAgent
	PartyExternal
)

// String returns the API name of the party type.
func (p PartyType) String() string {
	switch p {
	case PartyClient:
		return "Client"
	case PartyAgent:
		return "Agent"
	case PartyExternal:
		return "External"
	}
	return fmt.Sprintf("PartyType(%d)", uint8(p))
}

// Event is one event of a chat as held in memory.
type Event struct {
	// Index is the 1-based transcript position; 0 for transient and internal events.
	Index int
	// Type is what happened.
	Type EventType
	// From is the participant id of the author; 0 is the system.
	From int
	// FromNick is the author's nickname when the event happened.
	FromNick string
	// FromType is the author's kind.
	FromType PartyType
	// Text is the message, notice text, URL or new nickname.
	Text string
	// MessageType is the client's optional message subtype.
	MessageType string
	// Time is when the event happened.
	Time time.Time
}

// partyRec is a participant as stored in a join record or the session row.
type partyRec struct {
	ID      int       `json:"id"`
	UserID  string    `json:"u"`
	Nick    string    `json:"n"`
	Type    PartyType `json:"t"`
	KeyHash []byte    `json:"k"`
}

// eventRec is the stored form of an event.
type eventRec struct {
	Type  EventType         `json:"t"`
	Index int               `json:"i,omitempty"`
	From  int               `json:"f,omitempty"`
	Text  string            `json:"x,omitempty"`
	MType string            `json:"m,omitempty"`
	Time  int64             `json:"ts"`
	Party *partyRec         `json:"p,omitempty"`
	Data  map[string]string `json:"d,omitempty"`
	End   bool              `json:"e,omitempty"`
	Node  string            `json:"n,omitempty"`
}

// rowRec is the stored form of what is fixed at creation.
type rowRec struct {
	Subject  string            `json:"subject,omitempty"`
	Email    string            `json:"email,omitempty"`
	UserData map[string]string `json:"userData,omitempty"`
	Creator  partyRec          `json:"creator"`
}

func decodeEvent(data []byte) (eventRec, error) {
	var r eventRec
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("cannot decode a stored event: %w", err)
	}
	if !r.Type.valid() {
		return r, fmt.Errorf("cannot decode a stored event: unknown type %d", r.Type)
	}
	return r, nil
}

func mustEncode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: cannot encode a stored record: " + err.Error())
	}
	return b
}
