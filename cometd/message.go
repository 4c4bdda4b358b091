package cometd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Bayeux meta channels.
const (
	chanHandshake   = "/meta/handshake"
	chanConnect     = "/meta/connect"
	chanDisconnect  = "/meta/disconnect"
	chanSubscribe   = "/meta/subscribe"
	chanUnsubscribe = "/meta/unsubscribe"
	// chanUnsuccessful names a reply to a body that held no message to reply to.
	chanUnsuccessful = "/meta/unsuccessful"
)

// Connection types.
const (
	typeLongPolling = "long-polling"
	typeWebSocket   = "websocket"
)

// Bayeux errors, in the code:args:message form. errUnknownClient is compared
// literally by the Genesys widget.
const (
	errUnknownClient   = "402::Unknown client"
	errNoCommonType    = "403::No connection type in common"
	errTooManySessions = "503::Too many sessions"
	errClosing         = "503::Server shutting down"
	errNoSession       = "500::Cannot make a session"
	errPublishRate     = "429::Too many publishes"
	errTooLarge        = "413::Message too large"
	errTooManyMessages = "413::Too many messages in one batch"
	errNoChannel       = "400::Message has no channel"
	errBadID           = "400::Message id must be a string or a number"
)

// Limits of single fields, checked when a message is parsed.
const (
	maxChannel  = 256
	maxID       = 64
	maxClientID = 64
)

// message is one Bayeux message, received or sent.
type message struct {
	Channel                  string          `json:"channel"`
	ID                       json.RawMessage `json:"id,omitempty"`
	ClientID                 string          `json:"clientId,omitempty"`
	Successful               *bool           `json:"successful,omitempty"`
	Error                    string          `json:"error,omitempty"`
	Advice                   *advice         `json:"advice,omitempty"`
	Subscription             json.RawMessage `json:"subscription,omitempty"`
	ConnectionType           string          `json:"connectionType,omitempty"`
	Version                  string          `json:"version,omitempty"`
	MinimumVersion           string          `json:"minimumVersion,omitempty"`
	SupportedConnectionTypes []string        `json:"supportedConnectionTypes,omitempty"`
	Data                     json.RawMessage `json:"data,omitempty"`
	Ext                      json.RawMessage `json:"ext,omitempty"`
}

// advice is Bayeux advice; times in milliseconds.
type advice struct {
	Reconnect string   `json:"reconnect,omitempty"`
	Interval  *float64 `json:"interval,omitempty"`
	Timeout   *float64 `json:"timeout,omitempty"`
}

// Reconnect advice.
const (
	reconnectRetry     = "retry"
	reconnectHandshake = "handshake"
	reconnectNone      = "none"
)

var (
	errNotBayeux = errors.New("body is not a JSON array of Bayeux messages")
	errEmpty     = errors.New("body is empty")
)

// parseMessages reads a body or WebSocket message: a JSON array of Bayeux
// messages, or a single message. It refuses more than maxBatch messages and
// fields over their limits, so what it returns is bounded by the input's size.
func parseMessages(body []byte, maxBatch int) ([]message, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errEmpty
	}
	var msgs []message
	if body[0] == '{' {
		msgs = make([]message, 1)
		if err := json.Unmarshal(body, &msgs[0]); err != nil {
			return nil, fmt.Errorf("%w: %v", errNotBayeux, err)
		}
	} else if err := json.Unmarshal(body, &msgs); err != nil {
		return nil, fmt.Errorf("%w: %v", errNotBayeux, err)
	}
	if len(msgs) > maxBatch {
		return nil, errBatch
	}
	for i := range msgs {
		if err := msgs[i].check(); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
	}
	return msgs, nil
}

// errBatch is a body with more messages than allowed.
var errBatch = errors.New(errTooManyMessages)

// check validates the fields of a received message that the server echoes or keys on.
func (m *message) check() error {
	switch {
	case len(m.Channel) > maxChannel:
		return fmt.Errorf("channel is longer than %d bytes", maxChannel)
	case len(m.ClientID) > maxClientID:
		return fmt.Errorf("clientId is longer than %d bytes", maxClientID)
	case len(m.ID) > maxID:
		return fmt.Errorf("id is longer than %d bytes", maxID)
	}
	return nil
}

// validID reports whether id is absent, a JSON string or a JSON number.
func validID(id json.RawMessage) bool {
	if len(id) == 0 {
		return true
	}
	c := id[0]
	return c == '"' || c == '-' || (c >= '0' && c <= '9')
}

// isMeta reports whether ch is a meta channel.
func isMeta(ch string) bool { return strings.HasPrefix(ch, "/meta/") }

// isService reports whether ch is a service channel.
func isService(ch string) bool { return strings.HasPrefix(ch, "/service/") }

// subscriptions returns the channels of a subscribe or unsubscribe: a string or an array of strings.
func subscriptions(raw json.RawMessage) ([]string, bool) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, one != ""
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil || len(many) == 0 {
		return nil, false
	}
	return many, true
}

// encode returns m as JSON.
func (m *message) encode() []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic("BUG: cannot encode a Bayeux message: " + err.Error())
	}
	return b
}

// reply starts the reply to m: its channel, id and success.
func (m *message) reply(ok bool) *message {
	return &message{Channel: m.Channel, ID: m.ID, Successful: &ok}
}

// fail is the unsuccessful reply to m with err and, when given, advice.
func (m *message) fail(err string, adv *advice) *message {
	r := m.reply(false)
	r.Error, r.Advice = err, adv
	return r
}

// millis returns a duration in milliseconds as advice wants it.
func millis(ms int64) *float64 {
	f := float64(ms)
	return &f
}

// handshakeAdvice tells a client to handshake again at once.
func handshakeAdvice() *advice {
	return &advice{Reconnect: reconnectHandshake, Interval: millis(0)}
}

// appendArray appends the encoded messages as one JSON array to dst.
func appendArray(dst []byte, msgs [][]byte) []byte {
	dst = append(dst, '[')
	for i, m := range msgs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, m...)
	}
	return append(dst, ']')
}
