package cometd

import (
	"net"
	"slices"
	"time"
)

// client is what a transport knows of the sender of a batch.
type client struct {
	// transport is how the batch came.
	transport transport
	// remote is the sender's address.
	remote net.Addr
	// token is the request's (or the WebSocket upgrade's) bearer token, "" for none.
	token string
	// ws is the socket the batch came on; nil for long-polling.
	ws *wsConn
}

// batch is the outcome of the messages of one body or WebSocket message.
type batch struct {
	// sess is the session the messages concern; nil when none is known.
	sess *session
	// replies are the replies, in order, but for the connect's.
	replies [][]byte
	// connect is the connect to answer last, held or not; nil when none.
	connect *message
	// connectSess is the session of connect.
	connectSess *session
	// hold is set when the connect may be held: it is not the first after
	// the handshake and its client did not ask for an answer at once.
	hold bool
	// deliver is set when queued deliveries may go with the replies (any
	// reply but a handshake's).
	deliver bool
}

// process runs the messages of one body or WebSocket message in order.
func (sv *Server) process(msgs []message, cl *client) *batch {
	b := &batch{}
	for i := range msgs {
		sv.dispatch(&msgs[i], cl, b)
	}
	return b
}

// dispatch runs one message. Every message but a handshake names a live
// session by its clientId; an unknown one is answered 402::Unknown client
// with advice to handshake again, which a client that lost its server (a
// restart, another proxy, an expiry) follows and then resumes its chats.
func (sv *Server) dispatch(m *message, cl *client, b *batch) {
	switch {
	case m.Channel == "":
		m.Channel = chanUnsuccessful
		b.add(m.fail(errNoChannel, nil))
		return
	case !validID(m.ID):
		m.ID = nil
		b.add(m.fail(errBadID, nil))
		return
	case m.Channel == chanHandshake:
		sv.handshake(m, cl, b)
		return
	}
	s := sv.session(m.ClientID)
	if s == nil {
		b.add(m.fail(errUnknownClient, handshakeAdvice()))
		return
	}
	sv.touch(s, cl)
	b.sess = s
	if m.Channel != chanDisconnect {
		b.deliver = true
	}
	switch {
	case m.Channel == chanConnect:
		sv.connect(s, m, b)
	case m.Channel == chanDisconnect:
		sv.remove(s)
		b.add(m.reply(true))
	case m.Channel == chanSubscribe || m.Channel == chanUnsubscribe:
		b.add(subscribe(m))
	case isMeta(m.Channel):
		b.add(m.fail("404::Unknown channel", nil))
	default:
		b.add(sv.publish(s, m, cl))
	}
}

func (b *batch) add(m *message) { b.replies = append(b.replies, m.encode()) }

// touch records that the session's client spoke now, on cl's transport.
func (sv *Server) touch(s *session, cl *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSeen = time.Now()
	s.transport = cl.transport
	if cl.token != "" {
		s.token = cl.token
	}
	s.ws = cl.ws
	if cl.ws != nil {
		cl.ws.sess = s
	}
}

// handshake makes a session.
func (sv *Server) handshake(m *message, cl *client, b *batch) {
	if !slices.Contains(m.SupportedConnectionTypes, typeLongPolling) && !slices.Contains(m.SupportedConnectionTypes, typeWebSocket) {
		b.add(m.fail(errNoCommonType, &advice{Reconnect: reconnectNone}))
		return
	}
	s, bayeuxErr := sv.newSession(copyAddr(cl.remote), cl.token, cl.transport)
	if s == nil {
		b.add(m.fail(bayeuxErr, &advice{Reconnect: reconnectHandshake, Interval: millis(5000)}))
		return
	}
	if cl.ws != nil {
		s.mu.Lock()
		s.ws, cl.ws.sess = cl.ws, s
		s.mu.Unlock()
	}
	r := m.reply(true)
	r.Version, r.MinimumVersion = "1.0", "1.0"
	r.SupportedConnectionTypes = []string{typeWebSocket, typeLongPolling}
	r.ClientID = s.id
	r.Advice = sv.retryAdvice()
	b.add(r)
	b.sess = s
}

// connect takes a connect: the batch answers it last, held unless it is the
// first after the handshake or its client asks for an answer at once. A
// second connect in one batch answers the first at once.
func (sv *Server) connect(s *session, m *message, b *batch) {
	if b.connect != nil {
		b.add(sv.connectReply(b.connectSess, b.connect))
	}
	s.mu.Lock()
	first := !s.connected
	s.mu.Unlock()
	b.connect, b.connectSess = m, s
	b.hold = !first && !(m.Advice != nil && m.Advice.Timeout != nil && *m.Advice.Timeout == 0)
}

// connectReply answers a connect, and starts the session's expiry clock; a
// session that is gone answers 402::Unknown client.
func (sv *Server) connectReply(s *session, m *message) *message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sv.connectReplyLocked(s, m)
}

// connectReplyLocked is connectReply with s.mu held.
func (sv *Server) connectReplyLocked(s *session, m *message) *message {
	if s.gone {
		return m.fail(errUnknownClient, handshakeAdvice())
	}
	s.connected = true
	s.lastSeen = time.Now()
	r := m.reply(true)
	r.Advice = sv.retryAdvice()
	return r
}

// retryAdvice is the advice of every successful handshake and connect.
func (sv *Server) retryAdvice() *advice {
	return &advice{Reconnect: reconnectRetry, Interval: millis(sv.cfg.Interval.Milliseconds()), Timeout: millis(sv.cfg.Timeout.Milliseconds())}
}

// subscribe answers a subscribe or unsubscribe. Service channels are not
// broadcast, so a subscription to one is answered and not recorded (the
// chat's notifications come on its service channel whether or not the
// client subscribed); there are no other channels to subscribe to.
func subscribe(m *message) *message {
	subs, ok := subscriptions(m.Subscription)
	if !ok {
		return m.fail("400::Subscription missing", nil)
	}
	if m.Channel == chanSubscribe {
		for _, sub := range subs {
			if !isService(sub) {
				r := m.fail("403::Subscription denied", nil)
				r.Subscription = m.Subscription
				return r
			}
		}
	}
	r := m.reply(true)
	r.Subscription = m.Subscription
	return r
}
