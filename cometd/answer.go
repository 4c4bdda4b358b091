package cometd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/chatha/chatha/api"
)

// Values of an answer's statusCode.
const (
	statusOK    = api.StatusOK
	statusRetry = api.StatusRetry
	statusError = api.StatusError
)

// restAnswer is a chat API answer as the REST handler gave it. Its fields are
// kept as they came, so that a notification carries every field of the REST
// answer, also those this package does not know; the ones it acts on are
// decoded beside them.
type restAnswer struct {
	// status is the HTTP status.
	status int
	// fields are the answer's fields, undecoded.
	fields map[string]json.RawMessage
	// statusCode is the answer's statusCode.
	statusCode int
	// chatEnded is the answer's chatEnded.
	chatEnded bool
	// nextPosition is the answer's nextPosition (0 when it has none).
	nextPosition int
	// chatID, userID and secureKey are the answer's, when it has them.
	chatID, userID, secureKey string
	// messages are the answer's messages, in their order.
	messages []restMessage
}

// restMessage is one event of an answer.
type restMessage struct {
	// raw is the event as the REST handler wrote it.
	raw json.RawMessage
	// index is its transcript index; 0 for a transient event.
	index int
}

// parseAnswer reads a REST answer. A body that is not a chat API answer (an
// HTTP server's or a load balancer's own error page) becomes an error answer:
// retry for a 5xx, an error otherwise.
func parseAnswer(status int, body []byte) *restAnswer {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		if status >= http.StatusInternalServerError {
			return errorAnswer(statusRetry, api.CodeNoNode, fmt.Sprintf("the chat service answered HTTP %d", status), "retry in a moment")
		}
		return errorAnswer(statusError, api.CodeInternal, fmt.Sprintf("the chat service answered HTTP %d without a chat API answer", status), "")
	}
	a := &restAnswer{status: status, fields: fields}
	a.statusCode = decodeInt(fields["statusCode"])
	if _, ok := fields["statusCode"]; !ok && status >= http.StatusBadRequest {
		a.statusCode = statusError
	}
	_ = json.Unmarshal(fields["chatEnded"], &a.chatEnded)
	a.nextPosition = decodeInt(fields["nextPosition"])
	_ = json.Unmarshal(fields["chatId"], &a.chatID)
	_ = json.Unmarshal(fields["userId"], &a.userID)
	_ = json.Unmarshal(fields["secureKey"], &a.secureKey)
	var raws []json.RawMessage
	_ = json.Unmarshal(fields["messages"], &raws)
	a.messages = make([]restMessage, 0, len(raws))
	for _, raw := range raws {
		var m struct {
			Index int `json:"index"`
		}
		_ = json.Unmarshal(raw, &m)
		a.messages = append(a.messages, restMessage{raw: raw, index: max(m.Index, 0)})
	}
	return a
}

// decodeInt returns a JSON number that is a whole number, or 0.
func decodeInt(raw json.RawMessage) int {
	var n int
	_ = json.Unmarshal(raw, &n)
	return n
}

// errorAnswer is an answer in the REST error shape made by this package.
func errorAnswer(statusCode, code int, msg, advice string) *restAnswer {
	errs, _ := json.Marshal([]api.ErrorEntry{{Code: code, Message: msg, Advice: advice}})
	return &restAnswer{
		status: http.StatusOK, statusCode: statusCode,
		fields: map[string]json.RawMessage{"errors": errs},
	}
}

// badOperation is the answer to an operation this package cannot translate.
func badOperation(format string, a ...any) *restAnswer {
	return errorAnswer(statusError, api.CodeBadRequest, fmt.Sprintf(format, a...), "fix the operation and publish it again")
}

// pick returns the events of a to deliver to a client that has had every
// transcript index up to hwm, and the client's new hwm. Transcript events
// (index > 0) are delivered once and in order: those at or below hwm are
// dropped. When the answer was asked from a position (from > 0) that is not
// past hwm+1, it holds every event from there, so an index may follow a gap;
// otherwise (an answer to an operation) only hwm+1, hwm+2, ... are taken and
// what follows a gap is left to the pump. An answer from a position that
// holds no transcript event but a nextPosition past hwm+1 says that the
// events before nextPosition are not for this client: hwm moves there.
// Transient events (index 0) come after the transcript events, in the
// answer's order.
func pick(a *restAnswer, hwm, from int) ([]json.RawMessage, int) {
	covers := from > 0 && from <= hwm+1
	msgs := slices.Clone(a.messages)
	slices.SortStableFunc(msgs, func(x, y restMessage) int { return order(x.index) - order(y.index) })
	out := make([]json.RawMessage, 0, len(msgs))
	indexed := false
	for _, m := range msgs {
		switch {
		case m.index == 0:
			out = append(out, m.raw)
		case m.index <= hwm:
			indexed = true
		case m.index == hwm+1 || covers:
			indexed = true
			out, hwm = append(out, m.raw), m.index
		}
	}
	if covers && !indexed && a.nextPosition > hwm+1 {
		hwm = a.nextPosition - 1
	}
	return out, hwm
}

// order sorts transcript events by index and transient ones after them.
func order(index int) int {
	if index == 0 {
		return int(^uint(0) >> 1)
	}
	return index
}

// data returns the answer as a notification's data, with msgs as its
// messages and statusCode and chatEnded always present.
func (a *restAnswer) data(msgs []json.RawMessage) json.RawMessage {
	out := make(map[string]json.RawMessage, len(a.fields)+3)
	for k, v := range a.fields {
		out[k] = v
	}
	out["messages"] = appendArray(make([]byte, 0, 64), rawBytes(msgs))
	out["statusCode"] = strconv.AppendInt(nil, int64(a.statusCode), 10)
	out["chatEnded"] = strconv.AppendBool(nil, a.chatEnded)
	b, err := json.Marshal(out)
	if err != nil {
		panic("BUG: cannot encode a notification: " + err.Error())
	}
	return b
}

// setChat fills in the chat's id and the participant's userId when the answer lacks them.
func (a *restAnswer) setChat(chatID, userID string) {
	if _, ok := a.fields["chatId"]; !ok && chatID != "" {
		a.fields["chatId"], _ = json.Marshal(chatID)
	}
	if _, ok := a.fields["userId"]; !ok && userID != "" {
		a.fields["userId"], _ = json.Marshal(userID)
	}
}

func rawBytes(msgs []json.RawMessage) [][]byte {
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		out[i] = m
	}
	return out
}
