package chatnode

import (
	"encoding/json"
	"errors"

	"github.com/valyala/fasthttp"
)

// partyJSON is a message author in the API.
type partyJSON struct {
	Nickname      string `json:"nickname"`
	ParticipantID int    `json:"participantId"`
	Type          string `json:"type"`
}

// messageJSON is one transcript event in the API.
type messageJSON struct {
	From        partyJSON `json:"from"`
	Index       int       `json:"index"`
	Type        string    `json:"type"`
	Text        string    `json:"text,omitempty"`
	MessageType string    `json:"messageType,omitempty"`
	UTCTime     int64     `json:"utcTime"`
}

// errorJSON is one entry of a response's errors.
type errorJSON struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Advice  string `json:"advice,omitempty"`
}

// response is the body of every chat API answer.
type response struct {
	Messages     []messageJSON `json:"messages"`
	ChatID       string        `json:"chatId,omitempty"`
	UserID       string        `json:"userId,omitempty"`
	SecureKey    string        `json:"secureKey,omitempty"`
	Alias        string        `json:"alias"`
	NextPosition int           `json:"nextPosition,omitempty"`
	StatusCode   int           `json:"statusCode"`
	ChatEnded    bool          `json:"chatEnded"`
	Errors       []errorJSON   `json:"errors,omitempty"`
}

func messagesJSON(evs []Event, out []messageJSON) []messageJSON {
	if out == nil {
		out = make([]messageJSON, 0, len(evs))
	}
	for _, e := range evs {
		out = append(out, messageJSON{
			From:  partyJSON{Nickname: e.FromNick, ParticipantID: e.From, Type: e.FromType.String()},
			Index: e.Index, Type: e.Type.String(), Text: e.Text, MessageType: e.MessageType, UTCTime: e.Time.UnixMilli(),
		})
	}
	return out
}

// reply builds the answer to participant p; with pos > 0 it carries the
// transcript from pos and p's transient events. The caller holds s.mu.
func (n *Node) reply(s *session, p *participant, pos int) *response {
	r := &response{ChatID: s.id, Alias: n.cfg.Name, NextPosition: s.nextIndex, ChatEnded: s.ended, Messages: []messageJSON{}}
	if s.ended {
		r.StatusCode = 2
	}
	if p != nil {
		r.UserID = p.UserID
	}
	if pos > 0 {
		r.Messages = messagesJSON(s.since(pos), r.Messages)
		if p != nil {
			r.Messages = messagesJSON(p.transient, r.Messages)
			p.transient = nil
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
		Messages: []messageJSON{}, Alias: n.cfg.Name, StatusCode: e.StatusCode, ChatEnded: e.Ended,
		Errors: []errorJSON{{Code: e.Code, Message: e.Message, Advice: e.Advice}},
	})
}
