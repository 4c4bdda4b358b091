package chat

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Participant is one party of a chat.
type Participant struct {
	Party
	// Present is false once the participant left.
	Present bool
	// LastSeen is when the participant last sent a request.
	LastSeen time.Time
	// Read is the transcript index the participant said it has read up to
	// (readReceipt); 0 before it said any.
	Read int
}

// Session is a chat's state: participants, transcript, files and the request
// ids it has seen. It changes only through Apply, so a live chat and one
// rebuilt by Replay are alike. It is not safe for concurrent use.
type Session struct {
	// ID is the chat id.
	ID string
	// Service is the chat service of the create request.
	Service string
	// Created is when the chat was created.
	Created time.Time
	// Subject is the create request's subject.
	Subject string
	// Email is the create request's emailAddress.
	Email string

	userData    map[string]string
	parts       []*Participant // parts[i].ID == i+1
	events      []Event        // transcript, ascending Index
	nextIndex   int
	seq         uint64            // last seq taken
	writer      string            // node that took the last seq
	reqs        map[string]string // request id -> fingerprint, of every stored change
	uploads     map[string]string // request id -> the file it uploaded
	files       []*File           // in upload order
	lastMessage time.Time
	idleAlerts  int
	ended       bool
	endedAt     time.Time
}

// NewSession returns the session of a chat created with row and c, before
// any entry is applied.
func NewSession(row SessionRow, c Creation) *Session {
	s := &Session{
		ID: row.ChatID, Service: row.Service, Created: row.CreatedAt,
		Subject: c.Subject, Email: c.Email, userData: c.UserData,
		nextIndex: 1, lastMessage: row.CreatedAt,
	}
	if s.userData == nil {
		s.userData = map[string]string{}
	}
	s.parts = []*Participant{{Party: c.Creator, LastSeen: row.CreatedAt}}
	return s
}

// Replay rebuilds a session from its row and records, in Seq order.
func Replay(row SessionRow, recs []Record) (*Session, error) {
	var c Creation
	if err := json.Unmarshal(row.Data, &c); err != nil {
		return nil, fmt.Errorf("cannot decode the session row of chat %s: %w", row.ChatID, err)
	}
	s := NewSession(row, c)
	for _, r := range recs {
		e, err := DecodeEntry(r.Data)
		if err != nil {
			return nil, fmt.Errorf("chat %s record %d: %w", row.ChatID, r.Seq, err)
		}
		if r.Seq != s.seq+1 {
			return nil, fmt.Errorf("chat %s: record %d follows %d", row.ChatID, r.Seq, s.seq)
		}
		s.Apply(e)
		s.Taken(r.Seq, e.Node)
		s.RememberRequest(r.RequestID, e.Print)
		if e.Type == EventFileUploaded {
			s.RememberUpload(r.RequestID, e.Data[FileID])
		}
	}
	return s, nil
}

// Participant returns the participant with the given id, or nil.
func (s *Session) Participant(id int) *Participant {
	if id < 1 || id > len(s.parts) {
		return nil
	}
	return s.parts[id-1]
}

// Participants returns every participant, the creator first. The slice is
// the session's: do not change it.
func (s *Session) Participants() []*Participant { return s.parts }

// NextID returns the id the next participant to join gets.
func (s *Session) NextID() int { return len(s.parts) + 1 }

// Authenticate returns the participant whose secure key is key, when userID
// is "" or that participant's userId. The key alone identifies a
// participant (userId is deprecated in GMS clients): keys are random, or
// derived per chat, 160 bits each.
func (s *Session) Authenticate(userID, key string) *Participant {
	if key == "" {
		return nil
	}
	h := sha256.Sum256([]byte(key))
	for _, p := range s.parts {
		if subtle.ConstantTimeCompare(p.KeyHash, h[:]) == 1 && (userID == "" || p.UserID == userID) {
			return p
		}
	}
	return nil
}

// Apply changes the session by one entry; it is the replay step of a restore
// and the last step of every live change. A visible entry joins the
// transcript at its index.
func (s *Session) Apply(e Entry) {
	t := time.UnixMilli(e.Time).UTC()
	switch e.Type {
	case EventParticipantJoined:
		s.join(e, t)
	case EventParticipantLeft:
		if p := s.Participant(e.From); p != nil {
			p.Present = false
		}
	case EventNicknameUpdated:
		if p := s.Participant(e.From); p != nil {
			p.Nick = e.Text
		}
	case EventDataUpdated:
		for k, v := range e.Data {
			s.userData[k] = v
		}
	case EventMessage:
		s.lastMessage, s.idleAlerts = t, 0
	case EventIdleAlert:
		s.idleAlerts++
	case EventReadReceipt:
		if p := s.Participant(e.From); p != nil {
			p.Read = max(p.Read, e.Read)
		}
	case EventFileUploaded, EventFileDeleted, EventFileDownloaded:
		s.applyFile(e)
	}
	if e.End && !s.ended {
		s.ended, s.endedAt = true, t
	}
	if e.Type.Visible() && e.Index > 0 {
		s.show(e, t)
	}
}

func (s *Session) join(e Entry, t time.Time) {
	if e.Party != nil && e.Party.ID == len(s.parts)+1 {
		s.parts = append(s.parts, &Participant{Party: *e.Party})
	}
	if p := s.Participant(e.From); p != nil {
		p.Present, p.LastSeen = true, t
	}
}

func (s *Session) show(e Entry, t time.Time) {
	ev := Event{Index: e.Index, Type: e.Type, From: e.From, Text: e.Text, MessageType: e.MType, Time: t, FromType: PartyExternal, FromNick: "system"}
	if p := s.Participant(e.From); p != nil {
		ev.FromNick, ev.FromType = p.Nick, p.Type
	}
	if e.Type == EventFileUploaded || e.Type == EventFileDeleted {
		ev.UserData = e.Data
	}
	s.events = append(s.events, ev)
	s.nextIndex = e.Index + 1
}

// Taken records that the chat's log now ends at seq, written by node.
func (s *Session) Taken(seq uint64, node string) { s.seq, s.writer = seq, node }

// Seq returns the last seq taken in the chat's log.
func (s *Session) Seq() uint64 { return s.seq }

// Writer returns the node that took the last seq.
func (s *Session) Writer() string { return s.writer }

// NextIndex returns the transcript index the next visible event takes.
func (s *Session) NextIndex() int { return s.nextIndex }

// UserData returns the chat's userData now: the create's, with every update
// applied. The map is the session's: do not change it.
func (s *Session) UserData() map[string]string { return s.userData }

// Since returns the transcript events with Index >= pos.
func (s *Session) Since(pos int) []Event {
	i := sort.Search(len(s.events), func(i int) bool { return s.events[i].Index >= pos })
	return s.events[i:]
}

// Ended reports whether the chat is over.
func (s *Session) Ended() bool { return s.ended }

// EndedAt returns when the chat ended.
func (s *Session) EndedAt() time.Time { return s.endedAt }

// Seen is what a session knows of a request id.
type Seen uint8

// What a session knows of a request id.
const (
	// SeenNot: no change with the id was applied.
	SeenNot Seen = iota
	// SeenSame: a change with the id and the same fingerprint was applied
	// (or one whose fingerprint was not recorded).
	SeenSame
	// SeenOther: a change with the id but another fingerprint was applied.
	SeenOther
)

// Request reports whether a change with request id id was applied, and with
// the same fingerprint (Entry.Print) or not. Every request id of the chat's
// stored changes is remembered, for the whole life of the chat and through a
// restore, since a client may retry any of them.
func (s *Session) Request(id, print string) Seen {
	if id == "" {
		return SeenNot
	}
	known, ok := s.reqs[id]
	switch {
	case !ok:
		return SeenNot
	case known == "" || known == print:
		return SeenSame
	}
	return SeenOther
}

// RememberRequest records that a change with request id id and fingerprint
// print was applied; the first fingerprint recorded for an id stays.
func (s *Session) RememberRequest(id, print string) {
	if id == "" {
		return
	}
	if known, ok := s.reqs[id]; ok && known != "" {
		return
	}
	if s.reqs == nil {
		s.reqs = map[string]string{}
	}
	s.reqs[id] = print
}

// WaitingForAgent reports whether no agent is in the live chat.
func (s *Session) WaitingForAgent() bool {
	if s.ended {
		return false
	}
	for _, p := range s.parts {
		if p.Type == PartyAgent && p.Present {
			return false
		}
	}
	return true
}

// Leave returns the entry of p leaving: it ends the chat when the client
// leaves or nobody else is left.
func (s *Session) Leave(p *Participant) Entry {
	e := Entry{Type: EventParticipantLeft, From: p.ID, End: p.Type == PartyClient}
	others := 0
	for _, q := range s.parts {
		if q.Present && q != p {
			others++
		}
	}
	e.End = e.End || others == 0
	return e
}

// Restart sets every participant as seen and the chat as active at now, as a
// node that takes the chat over does: silence before the takeover does not count.
func (s *Session) Restart(now time.Time) {
	for _, p := range s.parts {
		p.LastSeen = now
	}
	s.lastMessage = now
}

// Quiet returns how long no message was sent at now, and how many idle
// alerts were sent since the last one.
func (s *Session) Quiet(now time.Time) (time.Duration, int) {
	return now.Sub(s.lastMessage), s.idleAlerts
}
