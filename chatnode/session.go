package chatnode

import (
	"crypto/sha256"
	"crypto/subtle"
	"sort"
	"sync"
	"time"
)

// maxTransient bounds the transient events waiting for one participant.
const maxTransient = 32

// recentRequests is how many request ids a session remembers for retries.
const recentRequests = 32

// participant is one party of a chat.
type participant struct {
	partyRec
	present   bool
	lastSeen  time.Time
	transient []Event // waiting to be shown to this participant once
}

// session is a live chat held in memory.
type session struct {
	id      string
	service string
	created time.Time
	subject string
	email   string

	mu          sync.Mutex // guards every field below
	userData    map[string]string
	parts       []*participant // parts[i].ID == i+1
	events      []Event        // transcript, ascending Index
	nextIndex   int
	seq         uint64   // last seq taken (stored, or pending)
	pending     []Record // not stored yet (transcript-save-on-error=continue)
	saveFailing bool     // the last append failed
	reqs        [recentRequests]string
	reqPos      int
	lastWriter  string // node that wrote the last stored record
	lastMessage time.Time
	idleAlerts  int
	ended       bool
	endedAt     time.Time
	gone        bool   // dropped from the node; a new lookup is needed
	epoch       uint64 // the node epoch in which the session was last known current
}

func newSession(row SessionRow, rr rowRec) *session {
	s := &session{
		id: row.ChatID, service: row.Service, created: row.CreatedAt,
		subject: rr.Subject, email: rr.Email, userData: rr.UserData,
		nextIndex: 1, lastMessage: row.CreatedAt,
	}
	if s.userData == nil {
		s.userData = map[string]string{}
	}
	s.parts = []*participant{{partyRec: rr.Creator, lastSeen: row.CreatedAt}}
	return s
}

func (s *session) participant(id int) *participant {
	if id < 1 || id > len(s.parts) {
		return nil
	}
	return s.parts[id-1]
}

// authenticate returns the participant with userID if key is its secure key.
func (s *session) authenticate(userID, key string) *participant {
	h := sha256.Sum256([]byte(key))
	for _, p := range s.parts {
		if p.UserID == userID && subtle.ConstantTimeCompare(p.KeyHash, h[:]) == 1 {
			return p
		}
	}
	return nil
}

// apply changes the session by one event; it is the replay step of a restore
// and the last step of every live change.
func (s *session) apply(r eventRec, inTranscript bool) {
	t := time.UnixMilli(r.Time).UTC()
	switch r.Type {
	case EventParticipantJoined:
		s.join(r, t)
	case EventParticipantLeft:
		if p := s.participant(r.From); p != nil {
			p.present = false
		}
	case EventNicknameUpdated:
		if p := s.participant(r.From); p != nil {
			p.Nick = r.Text
		}
	case EventDataUpdated:
		for k, v := range r.Data {
			s.userData[k] = v
		}
	case EventMessage:
		s.lastMessage, s.idleAlerts = t, 0
	case EventIdleAlert:
		s.idleAlerts++
	}
	if r.End && !s.ended {
		s.ended, s.endedAt = true, t
	}
	if r.Type.Visible() {
		s.show(r, t, inTranscript)
	}
}

func (s *session) join(r eventRec, t time.Time) {
	if r.Party != nil && r.Party.ID == len(s.parts)+1 {
		s.parts = append(s.parts, &participant{partyRec: *r.Party})
	}
	if p := s.participant(r.From); p != nil {
		p.present, p.lastSeen = true, t
	}
}

func (s *session) show(r eventRec, t time.Time, inTranscript bool) {
	ev := Event{Index: r.Index, Type: r.Type, From: r.From, Text: r.Text, MessageType: r.MType, Time: t, FromType: PartyExternal, FromNick: "system"}
	if p := s.participant(r.From); p != nil {
		ev.FromNick, ev.FromType = p.Nick, p.Type
	}
	if inTranscript {
		s.events = append(s.events, ev)
		s.nextIndex = r.Index + 1
		return
	}
	for _, p := range s.parts {
		if p.present && p.ID != r.From && len(p.transient) < maxTransient {
			p.transient = append(p.transient, ev)
		}
	}
}

// since returns the transcript events with Index >= pos.
func (s *session) since(pos int) []Event {
	i := sort.Search(len(s.events), func(i int) bool { return s.events[i].Index >= pos })
	return s.events[i:]
}

func (s *session) seenRequest(id string) bool {
	if id == "" {
		return false
	}
	for _, r := range s.reqs {
		if r == id {
			return true
		}
	}
	return false
}

func (s *session) rememberRequest(id string) {
	if id == "" {
		return
	}
	s.reqs[s.reqPos] = id
	s.reqPos = (s.reqPos + 1) % recentRequests
}

// waitingForAgent reports whether no agent is in the live chat.
func (s *session) waitingForAgent() bool {
	if s.ended {
		return false
	}
	for _, p := range s.parts {
		if p.Type == PartyAgent && p.present {
			return false
		}
	}
	return true
}
