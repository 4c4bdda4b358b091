package chatnode

import (
	"github.com/chatha/chatha/api"

	"github.com/chatha/chatha/chat"

	"cmp"
	"context"
	"net/url"
	"slices"
	"strconv"
)

// actionFunc turns an authenticated participant's request into the events to
// append; nil events append nothing.
type actionFunc func(n *Node, s *session, p *chat.Participant, req *api.Request) ([]chat.Entry, error)

// actions are the chat API's per-chat actions.
var actions = map[string]actionFunc{
	"send":           sendAction,
	"refresh":        func(*Node, *session, *chat.Participant, *api.Request) ([]chat.Entry, error) { return nil, nil },
	"startTyping":    typingAction(chat.EventTypingStarted),
	"stopTyping":     typingAction(chat.EventTypingStopped),
	"disconnect":     disconnectAction,
	"pushUrl":        pushURLAction,
	"readReceipt":    readReceiptAction,
	"customNotice":   textAction(chat.EventCustomNotice, ""),
	"updateNickname": nicknameAction,
	"updateData":     dataAction,
}

func sendAction(_ *Node, _ *session, p *chat.Participant, req *api.Request) ([]chat.Entry, error) {
	if req.Message == "" {
		return nil, api.Missing("message")
	}
	return []chat.Entry{{Type: chat.EventMessage, From: p.ID, Text: req.Message, MType: req.MessageType}}, nil
}

func typingAction(t chat.EventType) actionFunc {
	return func(_ *Node, _ *session, p *chat.Participant, req *api.Request) ([]chat.Entry, error) {
		return []chat.Entry{{Type: t, From: p.ID, Text: req.Message}}, nil
	}
}

func textAction(t chat.EventType, required string) actionFunc {
	return func(_ *Node, _ *session, p *chat.Participant, req *api.Request) ([]chat.Entry, error) {
		if required != "" && req.Message == "" {
			return nil, api.Missing(required)
		}
		return []chat.Entry{{Type: t, From: p.ID, Text: req.Message, MType: req.MessageType}}, nil
	}
}

// pushURLAction sends the URL of the pushUrl field, or of message as
// earlier clients send it: an absolute http or https URL, so a client that
// renders it as a link never runs it.
func pushURLAction(_ *Node, _ *session, p *chat.Participant, req *api.Request) ([]chat.Entry, error) {
	u := cmp.Or(req.PushURL, req.Message)
	if u == "" {
		return nil, api.Missing("pushUrl")
	}
	if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return nil, api.BadRequest("pushUrl must be an absolute http or https URL")
	}
	return []chat.Entry{{Type: chat.EventPushURL, From: p.ID, Text: u, MType: req.MessageType}}, nil
}

// readReceiptAction records that the participant has read the transcript
// up to the event before transcriptPosition (the position it would refresh
// from next), as an internal record; a position it had passed already, or
// one past the transcript's end, records nothing more. It is answered like
// a refresh from transcriptPosition.
func readReceiptAction(_ *Node, s *session, p *chat.Participant, req *api.Request) ([]chat.Entry, error) {
	if req.TranscriptPosition < 1 {
		return nil, api.Missing("transcriptPosition")
	}
	read := min(req.TranscriptPosition, s.NextIndex()) - 1
	if read <= p.Read {
		return nil, nil
	}
	return []chat.Entry{{Type: chat.EventReadReceipt, From: p.ID, Read: read}}, nil
}

func nicknameAction(_ *Node, _ *session, p *chat.Participant, req *api.Request) ([]chat.Entry, error) {
	if req.Nickname == "" {
		return nil, api.Missing("nickname")
	}
	return []chat.Entry{{Type: chat.EventNicknameUpdated, From: p.ID, Text: req.Nickname}}, nil
}

func dataAction(_ *Node, _ *session, p *chat.Participant, req *api.Request) ([]chat.Entry, error) {
	if len(req.UserData) == 0 {
		return nil, api.Missing("userData")
	}
	return []chat.Entry{{Type: chat.EventDataUpdated, From: p.ID, Data: req.UserData}}, nil
}

// disconnectAction: the participant leaves; the chat ends when the client
// leaves or nobody is left.
func disconnectAction(_ *Node, s *session, p *chat.Participant, _ *api.Request) ([]chat.Entry, error) {
	return []chat.Entry{s.Leave(p)}, nil
}

// act runs a chat action for the participant the request's credentials name.
func (n *Node) act(ctx context.Context, id, action string, req *api.Request, reqID string) (*api.Answer, error) {
	fn, ok := actions[action]
	if !ok {
		return nil, api.BadRequest("unknown action %q", action)
	}
	var resp *api.Answer
	err := n.withSession(ctx, id, participantAuth(req), func(s *session, p *chat.Participant) error {
		p.LastSeen = n.now()
		if action == "refresh" {
			resp = n.replyInFull(s, p, req.Position(1))
			return nil
		}
		r := request{id: reqID}
		if reqID != "" {
			r.print = req.Fingerprint(fingerprintAction(action, req), p.ID)
		}
		if err := n.change(ctx, s, p, fn, req, r); err != nil {
			return err
		}
		if action == "readReceipt" {
			resp = n.replyInFull(s, p, req.Position(1))
			return nil
		}
		resp = n.reply(s, p, req.Position(0))
		return nil
	})
	return resp, err
}

// fingerprintAction names what an action asks for its fingerprint: a read
// receipt's position is part of what it writes.
func fingerprintAction(action string, req *api.Request) string {
	if action == "readReceipt" {
		return action + " " + strconv.Itoa(req.TranscriptPosition)
	}
	return action
}

// change carries out an action, unless its request was carried out before:
// then the answer is what the chat holds now, or, when the request id came
// with other content, a refusal.
func (n *Node) change(ctx context.Context, s *session, p *chat.Participant, fn actionFunc, req *api.Request, r request) error {
	switch s.Request(r.id, r.print) {
	case chat.SeenSame:
		return nil
	case chat.SeenOther:
		return api.ErrRequestReused
	}
	switch {
	case s.Ended():
		return endedErr(s)
	case !p.Present:
		return api.ErrLeft
	}
	evs, err := fn(n, s, p, req)
	if err != nil || len(evs) == 0 {
		return err
	}
	for _, ev := range evs {
		if ev.Type == chat.EventDataUpdated {
			if err := n.index(ctx, s.ID, ev.Data); err != nil {
				return err
			}
		}
	}
	return n.commit(ctx, s, r, evs...)
}

// endedErr is the refusal of a change to an ended chat: one closed because
// its transcript could not be saved says so, as it did to the request that
// closed it, whose answer may have been lost; the caller holds s.mu.
func endedErr(s *session) error {
	if s.unsaved {
		return api.ErrSaveClosed
	}
	return api.ErrEnded
}

// joinAgent adds an agent to a chat and returns its credentials.
func (n *Node) joinAgent(ctx context.Context, id string, req *api.Request, reqID string) (*api.Answer, error) {
	var resp *api.Answer
	r := request{id: reqID}
	if reqID != "" {
		r.print = req.Fingerprint("join", 0)
	}
	err := n.withSession(ctx, id, agentAuth, func(s *session, _ *chat.Participant) error {
		switch s.Request(r.id, r.print) {
		case chat.SeenSame:
			return api.ErrDuplicateJoin
		case chat.SeenOther:
			return api.ErrRequestReused
		}
		if s.Ended() {
			return endedErr(s)
		}
		nick := req.Name()
		if nick == "" {
			nick = "Agent"
		}
		party, key, err := n.newParty(len(s.Participants())+1, nick, chat.PartyAgent, "")
		if err != nil {
			return err
		}
		if err := n.commit(ctx, s, r, chat.Entry{Type: chat.EventParticipantJoined, From: party.ID, Party: &party}); err != nil {
			return err
		}
		resp = n.replyInFull(s, s.Participant(party.ID), req.Position(1))
		resp.SecureKey = key
		return nil
	})
	return resp, err
}

// Queue lists the chats held here that have no agent, oldest first.
func (n *Node) queue() []api.QueueEntry {
	out := []api.QueueEntry{}
	now := n.now()
	for _, s := range n.chats.all() {
		s.mu.Lock()
		if !s.gone && s.WaitingForAgent() {
			out = append(out, api.QueueEntry{ChatID: s.ID, Service: s.Service, Nickname: s.Participants()[0].Nick, Subject: s.Subject,
				CreatedAt: s.Created.UnixMilli(), WaitSeconds: int64(now.Sub(s.Created).Seconds()), Alias: n.cfg.Name})
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b api.QueueEntry) int {
		return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.ChatID, b.ChatID))
	})
	return out
}
