package chatnode

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an API error: what went wrong, the HTTP status and response
// statusCode it maps to, and an error code clients can test. Handlers return
// it; one place (writeError) turns it into a response.
type Error struct {
	// HTTPStatus is the response's HTTP status.
	HTTPStatus int
	// StatusCode is the response's statusCode: 1 retry, 2 ended or fatal.
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

func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Message) }

// Error codes.
const (
	CodeBadRequest   = 100 // malformed body or field
	CodeMissingField = 101 // a required field is missing
	CodeTooLarge     = 102 // body or field over its limit
	CodeUnknownChat  = 103 // no such chat
	CodeBadKey       = 104 // wrong userId or secureKey
	CodeChatEnded    = 105 // the chat is over
	CodeMoved        = 106 // another node serves the chat now
	CodeUnavailable  = 107 // this node takes no new chats (draining or full)
	CodeStore        = 108 // the store failed
	CodeUnauthorized = 109 // missing or wrong token
	CodeNotFound     = 110 // no such endpoint or action
	CodeMethod       = 111 // wrong HTTP method
	CodeNotAllowed   = 112 // the participant cannot do that now
	CodeInternal     = 199 // a bug
)

func errBadRequest(format string, a ...any) *Error {
	return &Error{HTTPStatus: http.StatusBadRequest, StatusCode: 2, Code: CodeBadRequest,
		Message: fmt.Sprintf(format, a...), Advice: "fix the request and send it again"}
}

func errMissing(field string) *Error {
	return &Error{HTTPStatus: http.StatusBadRequest, StatusCode: 2, Code: CodeMissingField,
		Message: fmt.Sprintf("field %s is required", field), Advice: "send the field"}
}

func errTooLarge(what string, limit int) *Error {
	return &Error{HTTPStatus: http.StatusRequestEntityTooLarge, StatusCode: 2, Code: CodeTooLarge,
		Message: fmt.Sprintf("%s is larger than %d bytes", what, limit), Advice: "send less"}
}

var (
	errUnknownChat = &Error{HTTPStatus: http.StatusNotFound, StatusCode: 2, Code: CodeUnknownChat,
		Message: "no such chat", Advice: "check chatId, or create a new chat"}
	errBadKey = &Error{HTTPStatus: http.StatusForbidden, StatusCode: 2, Code: CodeBadKey,
		Message: "userId and secureKey do not match a participant of this chat", Advice: "send the userId and secureKey the chat was joined with"}
	errEnded = &Error{HTTPStatus: http.StatusGone, StatusCode: 2, Code: CodeChatEnded, Ended: true,
		Message: "the chat has ended", Advice: "start a new chat"}
	errLost = &Error{HTTPStatus: http.StatusConflict, StatusCode: 1, Code: CodeMoved,
		Message: "another node serves this chat now", Advice: "retry the request; a router sends it to the chat's owner"}
	errSaveClosed = &Error{HTTPStatus: http.StatusServiceUnavailable, StatusCode: 2, Code: CodeStore, Ended: true,
		Message: "the transcript could not be saved, so the chat was closed", Advice: "start a new chat"}
	errUnauthorized = &Error{HTTPStatus: http.StatusUnauthorized, StatusCode: 2, Code: CodeUnauthorized,
		Message: "missing or wrong bearer token", Advice: "send Authorization: Bearer TOKEN"}
	errNotFound = &Error{HTTPStatus: http.StatusNotFound, StatusCode: 2, Code: CodeNotFound,
		Message: "no such endpoint", Advice: "see the API in the README"}
	errMethod = &Error{HTTPStatus: http.StatusMethodNotAllowed, StatusCode: 2, Code: CodeMethod,
		Message: "method not allowed", Advice: "use POST for chat actions and GET for reads"}
	errLeft = &Error{HTTPStatus: http.StatusConflict, StatusCode: 2, Code: CodeNotAllowed,
		Message: "the participant has left the chat", Advice: "join again"}
	errDuplicateJoin = &Error{HTTPStatus: http.StatusConflict, StatusCode: 2, Code: CodeNotAllowed,
		Message: "this join request was already carried out; its secure key is not kept", Advice: "join with a new request id"}
)

// errStale is the reason logged when a held chat proved older than the store.
var errStale = errors.New("the store has records this node has not seen")

func errUnavailable(why string) *Error {
	return &Error{HTTPStatus: http.StatusServiceUnavailable, StatusCode: 1, Code: CodeUnavailable,
		Message: "this node takes no new chats: " + why, Advice: "retry on another node"}
}

func errStore(err error) *Error {
	return &Error{HTTPStatus: http.StatusServiceUnavailable, StatusCode: 1, Code: CodeStore,
		Message: "storage is not available: " + err.Error(), Advice: "retry in a moment"}
}
