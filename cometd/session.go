package cometd

import (
	"net"
	"sync"
	"time"
)

// transport is how a session's client reaches the server.
type transport uint8

// Transports.
const (
	longPolling transport = iota + 1
	webSocket
)

// String returns the Bayeux connection type.
func (t transport) String() string {
	if t == webSocket {
		return typeWebSocket
	}
	return typeLongPolling
}

// outMsg is one encoded message waiting for the client.
type outMsg struct {
	// b is the message.
	b []byte
	// at is when the REST answer it carries arrived; zero for messages that
	// are not deliveries of chat events.
	at time.Time
}

// session is one Bayeux client: its queue of messages, its held connect and
// the chats it is attached to. It lives in the server that handshook it,
// whatever socket or HTTP request its messages come on.
type session struct {
	// id is the clientId: 128 random bits, the client's only credential for the session.
	id string
	// remote is the client's address at the handshake.
	remote net.Addr

	mu sync.Mutex // guards every field below
	// token is the client's bearer token, passed through to REST ("" for none).
	token string
	// transport is how the client's last message came.
	transport transport
	// queue holds what waits for the client, queueBytes its size.
	queue      []outMsg
	queueBytes int
	// held is closed to end the held long-polling connect; nil when none is held.
	held chan struct{}
	// ws is the socket the client last spoke on; nil for long-polling or once it closed.
	ws *wsConn
	// wsHeld is the held WebSocket connect; nil when none is held.
	wsHeld *wsHold
	// connected is set once a connect was answered after the handshake.
	connected bool
	// lastSeen is when the client last sent a message or a held connect ended.
	lastSeen time.Time
	// gone is set when the session was removed from the server.
	gone bool
	// rate limits publishes.
	rate bucket
	// chats are the chats the session attached to, in the order it did.
	chats []*attachment
}

// wsHold is a connect held on a WebSocket: answered when its timer fires or
// the session ends; deliveries go out on the socket meanwhile.
type wsHold struct {
	// connect is the held connect.
	connect *message
	// timer answers it after the timeout.
	timer *time.Timer
	// conn is the socket it came on.
	conn *wsConn
}

// holding reports whether a connect is held; s.mu is held.
func (s *session) holding() bool { return s.held != nil || s.wsHeld != nil }

// expired reports whether the session outlived maxInterval without a held
// connect at now; s.mu is held.
func (s *session) expired(now time.Time, maxInterval time.Duration) bool {
	return !s.holding() && now.Sub(s.lastSeen) > maxInterval
}

// enqueue adds m for the client; false when that would exceed the limits, in
// which case nothing is added. s.mu is held.
func (s *session) enqueue(m outMsg, maxQueue, maxBytes int) bool {
	if len(s.queue) >= maxQueue || s.queueBytes+len(m.b) > maxBytes {
		return false
	}
	s.queue = append(s.queue, m)
	s.queueBytes += len(m.b)
	return true
}

// take removes and returns everything queued; s.mu is held.
func (s *session) take() []outMsg {
	q := s.queue
	s.queue, s.queueBytes = nil, 0
	return q
}

// wake ends a held long-polling connect, and returns the socket to flush
// when a WebSocket connect is held; s.mu is held.
func (s *session) wake() *wsConn {
	if s.held != nil {
		close(s.held)
		s.held = nil
	}
	if s.wsHeld != nil {
		return s.wsHeld.conn
	}
	return nil
}

// attachment returns the chat the session attached to with chatID, or nil; s.mu is held.
func (s *session) attachment(chatID string) *attachment {
	for _, a := range s.chats {
		if a.chatID == chatID {
			return a
		}
	}
	return nil
}

// byKey returns the chat the session attached to with secureKey, or nil; s.mu is held.
func (s *session) byKey(secureKey string) *attachment {
	for _, a := range s.chats {
		if a.secureKey == secureKey {
			return a
		}
	}
	return nil
}
