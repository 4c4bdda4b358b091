package chat

// Author is who wrote a message, as clients and the final transcript show it.
type Author struct {
	// Nickname is the author's nickname when the event happened.
	Nickname string `json:"nickname"`
	// ParticipantID is the author's participant id; 0 is the system.
	ParticipantID int `json:"participantId"`
	// Type is the author's kind: Client, Agent or External.
	Type string `json:"type"`
}

// Message is one event as clients and the final transcript show it.
type Message struct {
	// From is the author.
	From Author `json:"from"`
	// Index is the transcript position; left out of a message outside the
	// transcript (the answer to file/limits).
	Index int `json:"index,omitempty"`
	// Type is the event type's API name (ParticipantJoined, Message, ...).
	Type string `json:"type"`
	// Text is the message, notice text, URL or new nickname.
	Text string `json:"text,omitempty"`
	// MessageType is the client's optional message subtype.
	MessageType string `json:"messageType,omitempty"`
	// UTCTime is when it happened, in Unix milliseconds.
	UTCTime int64 `json:"utcTime"`
	// UserData is what a file event says of its file (FileID, FileName,
	// FileSize, FileType), or the file limits of a file/limits answer.
	UserData map[string]string `json:"userData,omitempty"`
}

// AppendMessages appends the public form of evs to out.
func AppendMessages(out []Message, evs []Event) []Message {
	if out == nil {
		out = make([]Message, 0, len(evs))
	}
	for _, e := range evs {
		out = append(out, Message{
			From:  Author{Nickname: e.FromNick, ParticipantID: e.From, Type: e.FromType.String()},
			Index: e.Index, Type: e.Type.String(), Text: e.Text, MessageType: e.MessageType, UTCTime: e.Time.UnixMilli(),
			UserData: e.UserData,
		})
	}
	return out
}

// Transcript is the final transcript kept after a chat ends.
type Transcript struct {
	// ChatID is the chat id.
	ChatID string `json:"chatId"`
	// Service is the chat service.
	Service string `json:"service"`
	// Subject is the create request's subject.
	Subject string `json:"subject,omitempty"`
	// Email is the create request's emailAddress.
	Email string `json:"emailAddress,omitempty"`
	// UserData is the chat's userData when it ended.
	UserData map[string]string `json:"userData,omitempty"`
	// CreatedAt is when the chat was created, in Unix milliseconds.
	CreatedAt int64 `json:"createdAt"`
	// EndedAt is when the chat ended, in Unix milliseconds.
	EndedAt int64 `json:"endedAt"`
	// Participants lists everyone who joined.
	Participants []Reader `json:"participants"`
	// Messages is the transcript: the events the final transcript keeps
	// (Final), each at the index clients saw it at.
	Messages []Message `json:"messages"`
}

// Reader is a participant as the final transcript lists it.
type Reader struct {
	Author
	// ReadPosition is the index the participant said it had read up to
	// (readReceipt); 0 if it said none.
	ReadPosition int `json:"readPosition,omitempty"`
}

// Final returns the encoded final transcript of the ended chat: the events
// of the types keep accepts, at the indexes clients saw them at (so the
// indexes of a final transcript that leaves some out are not dense).
func (s *Session) Final(keep func(EventType) bool) []byte {
	kept := make([]Event, 0, len(s.events))
	for _, e := range s.events {
		if keep(e.Type) {
			kept = append(kept, e)
		}
	}
	t := Transcript{
		ChatID: s.ID, Service: s.Service, Subject: s.Subject, Email: s.Email, UserData: s.userData,
		CreatedAt: s.Created.UnixMilli(), EndedAt: s.endedAt.UnixMilli(), Messages: AppendMessages(nil, kept),
	}
	for _, p := range s.parts {
		t.Participants = append(t.Participants, Reader{Author: Author{Nickname: p.Nick, ParticipantID: p.ID, Type: p.Type.String()}, ReadPosition: p.Read})
	}
	return mustEncode(t)
}
