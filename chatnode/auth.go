package chatnode

import (
	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
)

// authFunc checks a request's credentials against a chat and returns the
// participant the request speaks for. Every way into a chat (withSession)
// takes one, and runs it on a chat this node does not hold before it writes
// anything or takes the chat over.
type authFunc func(s *chat.Session) (*chat.Participant, error)

// participantAuth accepts the participant whose userId and secureKey the
// request carries.
func participantAuth(req *api.Request) authFunc {
	return func(s *chat.Session) (*chat.Participant, error) {
		if p := s.Authenticate(req.UserID, req.SecureKey); p != nil {
			return p, nil
		}
		return nil, api.ErrBadKey
	}
}

// agentAuth accepts a request of the agent API, whose bearer token was
// checked before (serveAgent); it speaks for no participant yet.
func agentAuth(*chat.Session) (*chat.Participant, error) { return nil, nil }
