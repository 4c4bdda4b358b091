package chat

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventType is the kind of a transcript event.
type EventType uint8

// Event types. Their numbers are stored: new ones go at the end. Visible
// reports which are shown to clients; the others are internal records that
// only change state.
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
	// EventFileUploaded shows a file a participant uploaded (its id, name,
	// size and type in the event's UserData).
	EventFileUploaded
	// EventFileDeleted shows that a file was deleted.
	EventFileDeleted
	// EventFileDownloaded records one download of a file by a participant
	// (internal): download attempts are counted through restores.
	EventFileDownloaded
	// EventReadReceipt records how far a participant has read the
	// transcript (internal).
	EventReadReceipt
)

// hidden are the event types clients never see.
var hidden = [...]bool{EventDataUpdated: true, EventRestored: true, EventFileDownloaded: true, EventReadReceipt: true}

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
	EventFileUploaded:      "FileUploaded",
	EventFileDeleted:       "FileDeleted",
	EventFileDownloaded:    "FileDownloaded",
	EventReadReceipt:       "ReadReceipt",
}

// String returns the API name of the type.
func (t EventType) String() string {
	if int(t) < len(eventNames) && eventNames[t] != "" {
		return eventNames[t]
	}
	return fmt.Sprintf("EventType(%d)", uint8(t))
}

// Visible reports whether clients see events of this type: every visible
// event takes the next transcript index.
func (t EventType) Visible() bool { return t.valid() && !hidden[t] }

// Notice reports whether events of this type are notices, which
// transcript-save-notices may leave out of the final transcript; typing
// notices are Typing, not Notice.
func (t EventType) Notice() bool {
	switch t {
	case EventNotice, EventCustomNotice, EventPushURL, EventIdleAlert:
		return true
	}
	return false
}

// Typing reports whether events of this type are typing notices.
func (t EventType) Typing() bool { return t == EventTypingStarted || t == EventTypingStopped }

func (t EventType) valid() bool { return t >= EventParticipantJoined && t <= EventReadReceipt }

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
	// Index is the 1-based transcript position of a visible event.
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
	// UserData is what a file event says of its file.
	UserData map[string]string
	// Time is when the event happened.
	Time time.Time
}

// Party is a participant as stored in a join entry or the session row.
type Party struct {
	// ID is the participant's number in the chat: the creator is 1, then 2, ...
	ID int `json:"id"`
	// UserID is the participant's public id.
	UserID string `json:"u"`
	// Nick is the nickname the participant joined with.
	Nick string `json:"n"`
	// Type is the participant's kind.
	Type PartyType `json:"t"`
	// KeyHash is the SHA-256 of the participant's secure key, never the key.
	KeyHash []byte `json:"k"`
}

// Entry is one change to a chat: the content of one stored Record, and what
// a live change applies to the Session.
type Entry struct {
	// Type is what happened.
	Type EventType `json:"t"`
	// Index is the transcript position of a visible entry; 0 for internal ones.
	Index int `json:"i,omitempty"`
	// From is the participant id of the author; 0 is the system.
	From int `json:"f,omitempty"`
	// Text is the message, notice text, URL or new nickname.
	Text string `json:"x,omitempty"`
	// MType is the client's optional message subtype.
	MType string `json:"m,omitempty"`
	// Time is when it happened, in Unix milliseconds.
	Time int64 `json:"ts"`
	// Party is the participant a join adds.
	Party *Party `json:"p,omitempty"`
	// Data is the userData a DataUpdated entry sets, or what a file entry
	// says of its file (FileKeys).
	Data map[string]string `json:"d,omitempty"`
	// Read is the transcript index a ReadReceipt entry says its author has
	// read up to.
	Read int `json:"r,omitempty"`
	// End marks the entry that ends the chat.
	End bool `json:"e,omitempty"`
	// Node is the name of the node that wrote the entry.
	Node string `json:"n,omitempty"`
	// Print is the fingerprint of the request that wrote the entry (what it
	// asked, not its credentials), on the first entry of a request with an
	// X-Request-Id: a retry with that id must ask the same.
	Print string `json:"h,omitempty"`
}

// Creation is the stored form of what is fixed when a chat is created
// (SessionRow.Data).
type Creation struct {
	// Subject is the create request's subject.
	Subject string `json:"subject,omitempty"`
	// Email is the create request's emailAddress.
	Email string `json:"email,omitempty"`
	// UserData is the create request's userData.
	UserData map[string]string `json:"userData,omitempty"`
	// Creator is the participant who created the chat (ID 1).
	Creator Party `json:"creator"`
}

// DecodeEntry reads an entry from a record's Data.
func DecodeEntry(data []byte) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("cannot decode a stored event: %w", err)
	}
	if !e.Type.valid() {
		return e, fmt.Errorf("cannot decode a stored event: unknown type %d", e.Type)
	}
	return e, nil
}

// Encode returns the entry as a record's Data.
func (e *Entry) Encode() []byte { return mustEncode(e) }

// Encode returns the creation data as a SessionRow's Data.
func (c *Creation) Encode() []byte { return mustEncode(c) }

func mustEncode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: cannot encode a stored record: " + err.Error())
	}
	return b
}
