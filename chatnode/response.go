package chatnode

import (
	"github.com/chatha/chatha/chat"

	"encoding/json"
	"errors"

	"github.com/valyala/fasthttp"
)

// errorJSON is one entry of a response's errors.
type errorJSON struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Advice  string `json:"advice,omitempty"`
}

// response is the body of every chat API answer.
type response struct {
	Messages     []chat.Message `json:"messages"`
	ChatID       string         `json:"chatId,omitempty"`
	UserID       string         `json:"userId,omitempty"`
	SecureKey    string         `json:"secureKey,omitempty"`
	Alias        string         `json:"alias"`
	NextPosition int            `json:"nextPosition,omitempty"`
	StatusCode   int            `json:"statusCode"`
	ChatEnded    bool           `json:"chatEnded"`
	Errors       []errorJSON    `json:"errors,omitempty"`
}

// reply builds the answer to participant p; with pos > 0 it carries the
// transcript from pos and p's transient events. The caller holds s.mu.
func (n *Node) reply(s *session, p *chat.Participant, pos int) *response {
	r := &response{ChatID: s.ID, Alias: n.cfg.Name, NextPosition: s.NextIndex(), ChatEnded: s.Ended(), Messages: []chat.Message{}}
	if s.Ended() {
		r.StatusCode = 2
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

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: cannot encode a response: " + err.Error())
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// writeError answers with err: an *Error as it says, anything else as a 500.
func (n *Node) writeError(ctx *fasthttp.RequestCtx, err error) {
	var e *Error
	if !errors.As(err, &e) {
		n.log.Error("request failed", "path", string(ctx.Path()), "err", err)
		e = &Error{HTTPStatus: 500, StatusCode: 2, Code: CodeInternal, Message: "internal error"}
	}
	writeJSON(ctx, e.HTTPStatus, &response{
		Messages: []chat.Message{}, Alias: n.cfg.Name, StatusCode: e.StatusCode, ChatEnded: e.Ended,
		Errors: []errorJSON{{Code: e.Code, Message: e.Message, Advice: e.Advice}},
	})
}
