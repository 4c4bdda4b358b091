package chatnode

import (
	"maps"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
)

// reply builds the answer to participant p; with pos > 0 it carries one
// page of the transcript from pos (PageEvents, PageBytes), with nextPosition
// at the first event left out. A chat that ended normally is answered with
// statusCode 0 and chatEnded; one closed because its transcript could not be
// saved with statusCode 2. The caller holds s.mu.
func (n *Node) reply(s *session, p *chat.Participant, pos int) *api.Answer {
	r := &api.Answer{ChatID: s.ID, Alias: n.cfg.Name, NextPosition: s.NextIndex(), ChatEnded: s.Ended(), Messages: []chat.Message{}}
	if s.unsaved {
		r.StatusCode = api.StatusError
	}
	if p != nil {
		r.UserID = p.UserID
	}
	if pos > 0 {
		all := s.Since(pos)
		page := chat.Page(all, n.cfg.PageEvents, n.cfg.PageBytes)
		if len(page) < len(all) {
			r.NextPosition = all[len(page)].Index
		}
		r.Messages = chat.AppendMessages(r.Messages, page)
	}
	return r
}

// replyInFull is reply with what GMS gives in the answers to create,
// refresh and join: the chat's userData now, and monitored (false: chatha
// has no supervisors). The caller holds s.mu.
func (n *Node) replyInFull(s *session, p *chat.Participant, pos int) *api.Answer {
	r := n.reply(s, p, pos)
	r.UserData = maps.Clone(s.UserData())
	r.Monitored = new(bool)
	return r
}

// writeError answers with err: an *api.Error as it says, anything else as a
// 500, logged.
func (n *Node) writeError(ctx *fasthttp.RequestCtx, err error) {
	if _, ok := api.AsError(err); !ok {
		n.log.Error("request failed", "path", string(ctx.Path()), "err", err)
	}
	api.WriteError(ctx, n.cfg.Name, err)
}
