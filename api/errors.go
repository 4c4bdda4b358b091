package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/chat"
)

// Error is an API error: what went wrong, the HTTP status and answer
// statusCode it maps to, and an error code clients can test. Handlers return
// it; WriteError turns it into an answer. A Client returns it for an answer
// that is not a success.
type Error struct {
	// HTTPStatus is the answer's HTTP status.
	HTTPStatus int
	// StatusCode is the answer's statusCode: StatusRetry or StatusError.
	StatusCode int
	// Code is a stable number for the kind of error.
	Code int
	// Message says what is wrong.
	Message string
	// Advice says what the client can do.
	Advice string
	// Ended tells the client the chat is over.
	Ended bool
}

func (e *Error) Error() string {
	if e.Code == 0 { // an answer that carried no error code
		return e.Message
	}
	return fmt.Sprintf("%d %s", e.Code, e.Message)
}

// Values of an answer's statusCode.
const (
	StatusOK    = 0 // done
	StatusRetry = 1 // not done: send the request again (to another node)
	StatusError = 2 // not done, or the chat ended
)

// Error codes.
const (
	CodeBadRequest    = 100 // malformed body or field
	CodeMissingField  = 101 // a required field is missing
	CodeTooLarge      = 102 // body or field over its limit
	CodeUnknownChat   = 103 // no such chat
	CodeBadKey        = 104 // wrong userId or secureKey
	CodeChatEnded     = 105 // the chat is over
	CodeMoved         = 106 // another node serves the chat now
	CodeUnavailable   = 107 // this node takes no new chats (draining or full)
	CodeStore         = 108 // the store failed
	CodeUnauthorized  = 109 // missing or wrong token
	CodeNotFound      = 110 // no such endpoint or action
	CodeMethod        = 111 // wrong HTTP method
	CodeNotAllowed    = 112 // the participant cannot do that now
	CodeRequestReused = 113 // the X-Request-Id was used before for another request
	CodeKeyLost       = 114 // a create was carried out, but its secure key cannot be given again here
	CodeOrigin        = 115 // the request's Origin is not allowed (CORS)
	CodeUnknownFile   = 116 // no such file in the chat
	CodeTooManyFiles  = 201 // an upload over upload-max-files (GMS's code)
	CodeFilesTooLarge = 202 // an upload over upload-max-file-size or upload-max-total-size (GMS's code)
	CodeFileType      = 203 // an upload of a type not allowed (GMS's code)
	CodeNoNode        = 120 // no chat node can serve (proxy)
	CodeBadAnswer     = 121 // a node's answer could not be passed on (proxy)
	CodeBusy          = 122 // the proxy has as many requests under way to a node as it may (proxy)
	CodeSlow          = 123 // a live node did not answer within the proxy's request timeout (proxy)
	CodeInternal      = 199 // a bug
)

// Errors with a fixed text.
var (
	// ErrUnknownChat: no such chat.
	ErrUnknownChat = &Error{HTTPStatus: http.StatusNotFound, StatusCode: StatusError, Code: CodeUnknownChat,
		Message: "no such chat", Advice: "check chatId, or create a new chat"}
	// ErrBadKey: the credentials match no participant.
	ErrBadKey = &Error{HTTPStatus: http.StatusForbidden, StatusCode: StatusError, Code: CodeBadKey,
		Message: "userId and secureKey do not match a participant of this chat", Advice: "send the userId and secureKey the chat was joined with"}
	// ErrEnded: the chat is over.
	ErrEnded = &Error{HTTPStatus: http.StatusGone, StatusCode: StatusError, Code: CodeChatEnded, Ended: true,
		Message: "the chat has ended", Advice: "start a new chat"}
	// ErrErased: the chat was erased on request: it is over, as if ended, and holds nothing any more.
	ErrErased = &Error{HTTPStatus: http.StatusGone, StatusCode: StatusError, Code: CodeChatEnded, Ended: true,
		Message: "the chat was closed and its data erased", Advice: "start a new chat"}
	// ErrMoved: another node owns the chat now (fencing); a router retries.
	ErrMoved = &Error{HTTPStatus: http.StatusConflict, StatusCode: StatusRetry, Code: CodeMoved,
		Message: "another node serves this chat now", Advice: "retry the request; a router sends it to the chat's owner"}
	// ErrSaveClosed: the chat was closed because its transcript could not be saved.
	ErrSaveClosed = &Error{HTTPStatus: http.StatusServiceUnavailable, StatusCode: StatusError, Code: CodeStore, Ended: true,
		Message: "the transcript could not be saved, so the chat was closed", Advice: "start a new chat"}
	// ErrUnauthorized: the bearer token is missing or wrong.
	ErrUnauthorized = &Error{HTTPStatus: http.StatusUnauthorized, StatusCode: StatusError, Code: CodeUnauthorized,
		Message: "missing or wrong bearer token", Advice: "send Authorization: Bearer TOKEN"}
	// ErrNotFound: no such endpoint.
	ErrNotFound = &Error{HTTPStatus: http.StatusNotFound, StatusCode: StatusError, Code: CodeNotFound,
		Message: "no such endpoint", Advice: "see the API in the README"}
	// ErrLeft: the participant has left.
	ErrLeft = &Error{HTTPStatus: http.StatusConflict, StatusCode: StatusError, Code: CodeNotAllowed,
		Message: "the participant has left the chat", Advice: "join again"}
	// ErrDuplicateJoin: a join retried with its request id; its key is not kept.
	ErrDuplicateJoin = &Error{HTTPStatus: http.StatusConflict, StatusCode: StatusError, Code: CodeNotAllowed,
		Message: "this join request was already carried out; its secure key is not kept", Advice: "join with a new request id"}
	// ErrRequestReused: the X-Request-Id names an earlier request that asked
	// something else; answering it as a retry would acknowledge what was not done.
	ErrRequestReused = &Error{HTTPStatus: http.StatusConflict, StatusCode: StatusError, Code: CodeRequestReused,
		Message: "this X-Request-Id was already used for a different request", Advice: "send a new request id for a new request; a retry sends the same request again"}
	// ErrKeyLost: a create retried with its request id on a node whose create
	// secret differs from the one of the node that carried it out.
	ErrKeyLost = &Error{HTTPStatus: http.StatusConflict, StatusCode: StatusError, Code: CodeKeyLost,
		Message: "this create was already carried out, and this node cannot give its secure key again", Advice: "give every node the same create secret; start a new chat with a new request id"}
	// ErrOrigin: a browser request from an origin the CORS setting does not
	// allow; it is refused before it does anything.
	ErrOrigin = &Error{HTTPStatus: http.StatusForbidden, StatusCode: StatusError, Code: CodeOrigin,
		Message: "requests from this origin are not allowed", Advice: "add the page's origin to cors-allowed-origins"}
	// ErrUnknownFile: the chat has no such file, or it was deleted.
	ErrUnknownFile = &Error{HTTPStatus: http.StatusNotFound, StatusCode: StatusError, Code: CodeUnknownFile,
		Message: "no such file in this chat", Advice: "check the file id; a deleted file is gone"}
	// ErrNeedAgent: an upload before an agent joined, with upload-need-agent.
	ErrNeedAgent = &Error{HTTPStatus: http.StatusConflict, StatusCode: StatusError, Code: CodeNotAllowed,
		Message: "files can be uploaded once an agent has joined", Advice: "wait for an agent"}
	// ErrDownloadsUsed: a participant downloaded the file as often as download-attempts allows.
	ErrDownloadsUsed = &Error{HTTPStatus: http.StatusConflict, StatusCode: StatusError, Code: CodeNotAllowed,
		Message: "the download attempts of this file are used up", Advice: "ask the other party to upload it again"}
	// ErrNotYours: a participant deleting a file another participant uploaded.
	ErrNotYours = &Error{HTTPStatus: http.StatusForbidden, StatusCode: StatusError, Code: CodeNotAllowed,
		Message: "only the participant who uploaded a file, or an agent, can delete it", Advice: "ask them to delete it"}
	// ErrFilesOff: the node's store keeps no files, or uploads are off.
	ErrFilesOff = &Error{HTTPStatus: http.StatusNotImplemented, StatusCode: StatusError, Code: CodeNotAllowed,
		Message: "file transfer is off on this server", Advice: "set upload-max-files above 0"}
	// ErrNoNode: no chat node could serve the request (proxy).
	ErrNoNode = &Error{HTTPStatus: http.StatusServiceUnavailable, StatusCode: StatusRetry, Code: CodeNoNode,
		Message: "no chat node can serve this request now", Advice: "retry in a moment"}
)

// BadRequest is a malformed request.
func BadRequest(format string, a ...any) *Error {
	return &Error{HTTPStatus: http.StatusBadRequest, StatusCode: StatusError, Code: CodeBadRequest,
		Message: fmt.Sprintf(format, a...), Advice: "fix the request and send it again"}
}

// Missing is a request without a required field.
func Missing(field string) *Error {
	return &Error{HTTPStatus: http.StatusBadRequest, StatusCode: StatusError, Code: CodeMissingField,
		Message: fmt.Sprintf("field %s is required", field), Advice: "send the field"}
}

// TooLarge is a body or field over its limit.
func TooLarge(what string, limit int) *Error {
	return &Error{HTTPStatus: http.StatusRequestEntityTooLarge, StatusCode: StatusError, Code: CodeTooLarge,
		Message: fmt.Sprintf("%s is larger than %d bytes", what, limit), Advice: "send less"}
}

// TooManyFiles is an upload past the most files a chat takes; the advice
// is the limit, as GMS clients show it.
func TooManyFiles(limit int) *Error {
	return &Error{HTTPStatus: http.StatusBadRequest, StatusCode: StatusError, Code: CodeTooManyFiles,
		Message: fmt.Sprintf("a chat takes at most %d files", limit), Advice: fmt.Sprint(limit)}
}

// FilesTooLarge is an upload over a size limit (of one file, or of all the
// files of a chat); the advice is the limit in bytes, as GMS clients show it.
func FilesTooLarge(what string, limit int64) *Error {
	return &Error{HTTPStatus: http.StatusBadRequest, StatusCode: StatusError, Code: CodeFilesTooLarge,
		Message: fmt.Sprintf("%s is larger than %d bytes", what, limit), Advice: fmt.Sprint(limit)}
}

// FileTypeRefused is an upload of a type not allowed; types lists the
// allowed extensions, colon separated, as the advice.
func FileTypeRefused(why, types string) *Error {
	return &Error{HTTPStatus: http.StatusBadRequest, StatusCode: StatusError, Code: CodeFileType,
		Message: why, Advice: types}
}

// Unreadable is a request the server could not read: a body over maxBody
// (413), headers over the read buffer (431), or a malformed request (400).
func Unreadable(err error, maxBody int) *Error {
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return TooLarge("request body", maxBody)
	case errors.As(err, &small):
		return &Error{HTTPStatus: http.StatusRequestHeaderFieldsTooLarge, StatusCode: StatusError, Code: CodeTooLarge,
			Message: "the request headers are too large", Advice: "send smaller headers (cookies)"}
	}
	return BadRequest("cannot read the request: %v", err)
}

// ServerLog returns a logger for a fasthttp server of the API: its lines
// (mostly connections that sent something unreadable, already answered by
// WriteUnreadable) go to log at debug level, as they may quote the request.
func ServerLog(log *slog.Logger) fasthttp.Logger { return serverLog{log} }

type serverLog struct{ log *slog.Logger }

func (l serverLog) Printf(format string, args ...any) {
	l.log.Debug("http server", "detail", fmt.Sprintf(format, args...))
}

// WriteUnreadable is the error handler of a fasthttp server of the API: a
// connection that sent nothing in time is closed with 408, any other request
// that could not be read is answered as Unreadable says.
func WriteUnreadable(ctx *fasthttp.RequestCtx, alias string, err error, maxBody int) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		ctx.SetStatusCode(http.StatusRequestTimeout)
		ctx.SetConnectionClose()
		return
	}
	WriteError(ctx, alias, Unreadable(err, maxBody))
}

// MethodNotAllowed is a request with the wrong HTTP method; use says which to use.
func MethodNotAllowed(use string) *Error {
	return &Error{HTTPStatus: http.StatusMethodNotAllowed, StatusCode: StatusError, Code: CodeMethod,
		Message: "method not allowed", Advice: "use " + use}
}

// NotFound is a request for something that does not exist; advice says where to look.
func NotFound(what, advice string) *Error {
	return &Error{HTTPStatus: http.StatusNotFound, StatusCode: StatusError, Code: CodeNotFound, Message: what, Advice: advice}
}

// Unavailable is a create on a node that takes no new chats.
func Unavailable(why string) *Error {
	return &Error{HTTPStatus: http.StatusServiceUnavailable, StatusCode: StatusRetry, Code: CodeUnavailable,
		Message: "this node takes no new chats: " + why, Advice: "retry on another node"}
}

// StoreFailed is a request the store could not serve now.
func StoreFailed(err error) *Error {
	return &Error{HTTPStatus: http.StatusServiceUnavailable, StatusCode: StatusRetry, Code: CodeStore,
		Message: "storage is not available: " + err.Error(), Advice: "retry in a moment"}
}

// BadAnswer is a node's answer the proxy could not pass on (larger than the
// proxy's response limit, or malformed). It is the error of that request
// only: the node is not taken for failed and the request is not retried;
// why says what is wrong with it.
func BadAnswer(name, why string) *Error {
	return &Error{HTTPStatus: http.StatusBadGateway, StatusCode: StatusError, Code: CodeBadAnswer,
		Message: "cannot pass on the answer of " + name + ": " + why, Advice: "ask for less, or report it to the operator"}
}

// Busy is a request the proxy did not send to node name because as many
// of its requests as it may send there at once (limit) are under way. The
// node is not failed, and the request goes nowhere else: the client retries.
func Busy(name string, limit int) *Error {
	return &Error{HTTPStatus: http.StatusServiceUnavailable, StatusCode: StatusRetry, Code: CodeBusy,
		Message: fmt.Sprintf("the proxy has %d requests under way to %s, as many as it sends at once", limit, name), Advice: "retry in a moment"}
}

// Slow is a request that node name, alive (it answers probes), did not
// answer within timeout. The node is not failed, and the request goes
// nowhere else: the client retries, with the same request id.
func Slow(name string, timeout time.Duration) *Error {
	return &Error{HTTPStatus: http.StatusServiceUnavailable, StatusCode: StatusRetry, Code: CodeSlow,
		Message: fmt.Sprintf("%s did not answer in %v, though it is alive", name, timeout), Advice: "retry with the same X-Request-Id"}
}

// NodeUnreachable is a call of the proxy's own to a node that failed.
func NodeUnreachable(name string, err error) *Error {
	return &Error{HTTPStatus: http.StatusBadGateway, StatusCode: StatusRetry, Code: CodeNoNode,
		Message: "cannot reach " + name + ": " + err.Error(), Advice: "retry"}
}

// internal is what a client is told of an error that is not an *Error.
var internal = &Error{HTTPStatus: http.StatusInternalServerError, StatusCode: StatusError, Code: CodeInternal, Message: "internal error"}

// AsError returns err as an *Error, and false (with an internal error) when it is none.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return internal, false
}

// HeaderMoved is set, to "1", on a node's answer that another node serves
// the chat now (CodeMoved). A router retries such an answer, which then
// reaches the chat's owner, and passes every other 409 on at once: a
// request id reused with other content (CodeRequestReused), a create under
// another create secret (CodeKeyLost), a participant that cannot act.
// A header, not the body's code, so a router tells them apart without
// reading the body.
const HeaderMoved = "X-Chatha-Moved"

// Moved reports whether resp is an answer that another node serves the
// chat now (409 with HeaderMoved). It allocates nothing.
func Moved(resp *fasthttp.Response) bool {
	return resp.StatusCode() == http.StatusConflict && len(resp.Header.Peek(HeaderMoved)) > 0
}

// WriteError answers with err in the chat API's error shape, alias naming the
// answering node ("" for a proxy): an *Error as it says, anything else as a
// 500. An answer that the chat moved carries HeaderMoved.
func WriteError(ctx *fasthttp.RequestCtx, alias string, err error) {
	e, _ := AsError(err)
	if e.Code == CodeMoved {
		ctx.Response.Header.Set(HeaderMoved, "1")
	}
	WriteJSON(ctx, e.HTTPStatus, &Answer{
		Messages: []chat.Message{}, Alias: alias, StatusCode: e.StatusCode, ChatEnded: e.Ended,
		Errors: []ErrorEntry{{Code: e.Code, Message: e.Message, Advice: e.Advice}},
	})
}
