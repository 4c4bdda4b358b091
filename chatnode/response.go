package chatnode

import (
	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
)

// reply builds the answer to participant p; with pos > 0 it carries p's
// transient events and one page of the transcript from pos (PageEvents,
// PageBytes), with nextPosition at the first event left out. The caller
// holds s.mu.
func (n *Node) reply(s *session, p *chat.Participant, pos int) *api.Answer {
	r := &api.Answer{ChatID: s.ID, Alias: n.cfg.Name, NextPosition: s.NextIndex(), ChatEnded: s.Ended(), Messages: []chat.Message{}}
	if s.Ended() {
		r.StatusCode = api.StatusError
	}
	if p != nil {
		r.UserID = p.UserID
	}
	if pos > 0 {
		var transient []chat.Event
		if p != nil {
			transient = p.TakeTransient()
		}
		all := s.Since(pos)
		page := chat.Page(all, n.cfg.PageEvents, n.cfg.PageBytes-chat.EncodedSize(transient))
		if len(page) < len(all) {
			r.NextPosition = all[len(page)].Index
		}
		r.Messages = chat.AppendMessages(chat.AppendMessages(r.Messages, page), transient)
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
