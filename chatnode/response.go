package chatnode

import (
	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
)

// reply builds the answer to participant p; with pos > 0 it carries the
// transcript from pos and p's transient events. The caller holds s.mu.
func (n *Node) reply(s *session, p *chat.Participant, pos int) *api.Answer {
	r := &api.Answer{ChatID: s.ID, Alias: n.cfg.Name, NextPosition: s.NextIndex(), ChatEnded: s.Ended(), Messages: []chat.Message{}}
	if s.Ended() {
		r.StatusCode = api.StatusError
	}
	if p != nil {
		r.UserID = p.UserID
	}
	if pos > 0 {
		r.Messages = chat.AppendMessages(r.Messages, s.Since(pos))
		if p != nil {
			r.Messages = chat.AppendMessages(r.Messages, p.TakeTransient())
		}
	}
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
