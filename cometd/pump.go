package cometd

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"time"
)

// attachment is a session's stream of one chat: the participant's
// credentials, and the highest transcript index the stream delivered. Every
// answer for the chat, the pump's and the operations', goes through it, so
// each index reaches the client once and in order. Its fields are guarded by
// the session's mu; done is closed (by stop) when its pump must end.
type attachment struct {
	chatID, userID, secureKey string
	// service and channel are the chat service and its service channel.
	service, channel string
	// hwm is the highest transcript index delivered.
	hwm int
	// stopped is set when the pump ends; the chat is still remembered, to
	// fill in operations that send only the secureKey.
	stopped bool
	// done is closed when stopped is set.
	done chan struct{}
}

// stop ends the pump; the session's mu is held.
func (a *attachment) stop() {
	if !a.stopped {
		a.stopped = true
		close(a.done)
	}
}

// sleep waits d and reports whether the pump is still wanted.
func (a *attachment) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-a.done:
		return false
	case <-t.C:
		return true
	}
}

// answer queues an operation's answer for its publisher, through the chat's
// attachment when the session has one, and attaches or detaches the chat as
// the operation says: a new attachment's pump starts after the answer is
// queued, so nothing it delivers overtakes the answer.
func (sv *Server) answer(s *session, r *opRequest, res opResult) {
	now := time.Now()
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return
	}
	var a, start *attachment
	if res.ref.chatID != "" {
		res.ref.userID = cmp.Or(res.ref.userID, res.ans.userID) // a client that sent only its secureKey
		res.ans.setChat(res.ref.chatID, res.ref.userID)
		a = s.attachment(res.ref.chatID)
		if res.attach && (a == nil || a.stopped || a.hwm != res.from-1) {
			a = sv.attachLocked(s, r, res.ref, res.from-1)
			start = a
		}
	}
	msgs := allMessages(res.ans)
	if a != nil {
		msgs, a.hwm = pick(res.ans, a.hwm, res.from)
		if res.ans.chatEnded || res.detach {
			a.stop()
		}
		if res.detach {
			s.chats = slices.DeleteFunc(s.chats, func(x *attachment) bool { return x == a })
		}
	}
	reply := &message{Channel: r.channel, ID: r.id, Data: res.ans.data(msgs)}
	ok := s.enqueue(outMsg{b: reply.encode(), at: now}, sv.cfg.MaxQueue, sv.cfg.MaxQueueBytes)
	if start != nil && ok && !start.stopped {
		sv.wg.Add(1)
		go sv.pump(s, start)
	}
	s.mu.Unlock()
	// No held connect is woken: the answer goes out with the publish's own
	// reply, whose batch takes the queue.
	sv.afterEnqueue(s, ok, nil)
}

// afterEnqueue drops a session whose queue is full, or sends what was queued
// on its socket when it holds a WebSocket connect.
func (sv *Server) afterEnqueue(s *session, ok bool, c *wsConn) {
	switch {
	case !ok:
		sv.log.Warn("a session's queue is full: dropping it; its client handshakes again and resumes", "queued", sv.cfg.MaxQueue)
		sv.m.dropped.Inc()
		sv.remove(s)
	case c != nil:
		sv.flushWS(c, s)
	}
}

// attachLocked attaches s to a chat with every index up to hwm delivered,
// in place of an earlier attachment to it; nil when the session has no room
// (another operation took the last place meanwhile). s.mu is held.
func (sv *Server) attachLocked(s *session, r *opRequest, ref chatRef, hwm int) *attachment {
	s.chats = slices.DeleteFunc(s.chats, func(x *attachment) bool {
		if x.chatID == ref.chatID {
			x.stop()
			return true
		}
		return false
	})
	if len(s.chats) >= sv.cfg.MaxChats {
		i := slices.IndexFunc(s.chats, func(x *attachment) bool { return x.stopped })
		if i < 0 {
			return nil
		}
		s.chats = slices.Delete(s.chats, i, i+1)
	}
	a := &attachment{chatID: ref.chatID, userID: ref.userID, secureKey: ref.secureKey,
		service: r.service, channel: r.channel, hwm: hwm, done: make(chan struct{})}
	s.chats = append(s.chats, a)
	return a
}

// allMessages returns every event of an answer, for a chat the session is not attached to.
func allMessages(a *restAnswer) []json.RawMessage {
	out := make([]json.RawMessage, len(a.messages))
	for i, m := range a.messages {
		out[i] = m.raw
	}
	return out
}

// delivery encodes a message with data on channel.
func delivery(channel string, data json.RawMessage) []byte {
	return (&message{Channel: channel, Data: data}).encode()
}

// pump delivers a chat's events to the session: it calls the REST refresh
// from the position after the last delivered index, asking it to hold the
// answer until there is an event (WaitHeader), and queues what the answer
// brings. A REST side that answers at once is called at most once per
// MinRefreshInterval while nothing comes; an answer that says retry (the
// proxy could not reach a node) is retried with a growing pause, quietly but
// for one log line per outage. The pump ends when the chat ends, on an error
// answer (both delivered first), or when the attachment stops.
func (sv *Server) pump(s *session, a *attachment) {
	defer sv.wg.Done()
	backoff, failing := sv.cfg.RetryBackoff, false
	s.mu.Lock()
	token, form := s.token, credentials(chatRef{userID: a.userID, secureKey: a.secureKey})
	s.mu.Unlock()
	path := chatPath(a.service, a.chatID, "refresh")
	for {
		from, ok := s.position(a)
		if !ok {
			return
		}
		start := time.Now()
		form.Set("transcriptPosition", strconv.Itoa(from))
		ans := sv.call(&restCall{path: path, form: form, token: token, remote: s.remote, wait: sv.cfg.Wait, done: a.done})
		if ans.retryable() {
			if !failing {
				sv.log.Warn("cannot refresh a chat; retrying", "chat", a.chatID, "status", ans.status)
			}
			failing = true
			if !a.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, sv.cfg.MaxRetryBackoff)
			continue
		}
		if failing {
			sv.log.Info("refreshing the chat again", "chat", a.chatID)
		}
		backoff, failing = sv.cfg.RetryBackoff, false
		delivered, end := sv.deliver(s, a, ans, from)
		if end {
			return
		}
		if !delivered && !a.sleep(time.Until(start.Add(sv.cfg.MinRefreshInterval))) {
			return
		}
	}
}

// position returns where the pump asks from next, and false when it must end.
func (s *session) position(a *attachment) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return a.hwm + 1, !a.stopped && !s.gone
}

// deliver queues what a pump's answer brings for the client. It reports
// whether anything was queued, and whether the pump ends: the chat ended,
// the answer is an error (the client is told in both cases), or the
// attachment stopped meanwhile.
func (sv *Server) deliver(s *session, a *attachment, ans *restAnswer, from int) (bool, bool) {
	now := time.Now()
	s.mu.Lock()
	if a.stopped || s.gone {
		s.mu.Unlock()
		return false, true
	}
	msgs, hwm := pick(ans, a.hwm, from)
	a.hwm = hwm
	end := ans.chatEnded || ans.statusCode == statusError
	if len(msgs) == 0 && !end {
		s.mu.Unlock()
		return false, false
	}
	ans.setChat(a.chatID, a.userID)
	ok := s.enqueue(outMsg{b: delivery(a.channel, ans.data(msgs)), at: now}, sv.cfg.MaxQueue, sv.cfg.MaxQueueBytes)
	if end {
		a.stop()
	}
	c := s.wake()
	s.mu.Unlock()
	sv.afterEnqueue(s, ok, c)
	return true, end || !ok
}
