package api

import (
	"encoding/json"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/chat"
)

// ErrorEntry is one entry of an answer's errors.
type ErrorEntry struct {
	// Code is the error code (CodeBadRequest, ...).
	Code int `json:"code"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Advice says what the client can do.
	Advice string `json:"advice,omitempty"`
}

// Answer is the body of every chat API answer, of a node or a proxy.
type Answer struct {
	// Messages are transcript events from the asked position (or, for
	// file/limits, one Notice with the limits); never null.
	Messages []chat.Message `json:"messages"`
	// ChatID is the chat's id.
	ChatID string `json:"chatId,omitempty"`
	// UserID is the participant's id.
	UserID string `json:"userId,omitempty"`
	// SecureKey is the participant's secure key, on create and join only.
	SecureKey string `json:"secureKey,omitempty"`
	// Alias names the node that serves the chat now ("" in a proxy's own errors).
	Alias string `json:"alias,omitempty"`
	// NextPosition is the transcript index of the next event.
	NextPosition int `json:"nextPosition,omitempty"`
	// StatusCode is StatusOK, StatusRetry or StatusError.
	StatusCode int `json:"statusCode"`
	// ChatEnded tells the client the chat is over.
	ChatEnded bool `json:"chatEnded"`
	// UserData is the chat's userData now (create, refresh, readReceipt and
	// join answers), or the file id of an upload.
	UserData map[string]string `json:"userData,omitempty"`
	// Monitored tells whether a supervisor watches the chat: always false
	// in chatha, which has no supervisors; given where GMS gives it.
	Monitored *bool `json:"monitored,omitempty"`
	// Errors says what went wrong, when something did.
	Errors []ErrorEntry `json:"errors,omitempty"`
}

// Reply is an answer as a client received it.
type Reply struct {
	Answer
	// Status is the HTTP status.
	Status int
	// Node is the X-Chatha-Node header: the node that served a proxied request.
	Node string
}

// DecodeReply reads a chat API answer from resp.
func DecodeReply(resp *fasthttp.Response) (*Reply, error) {
	r := &Reply{Status: resp.StatusCode(), Node: string(resp.Header.Peek("X-Chatha-Node"))}
	if err := json.Unmarshal(resp.Body(), &r.Answer); err != nil {
		return r, fmt.Errorf("answer %d is not a chat API answer: %w", r.Status, err)
	}
	return r, nil
}

// WriteJSON answers with status and v encoded as JSON.
func WriteJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: cannot encode an answer: " + err.Error())
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
