package cometd

import (
	"bytes"
	"cmp"
	"encoding/json"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// channelPrefix starts the service channel of a chat service: /service/chatV2/{service}.
const channelPrefix = "/service/chatV2/"

// opRequest is one chat operation a client published.
type opRequest struct {
	// s is the publishing session.
	s *session
	// service is the chat service, from the channel; channel is the channel.
	service, channel string
	// op is the operation ("" until the data is read).
	op string
	// fields are the publish's data.
	fields map[string]json.RawMessage
	// token and remote are the publishing request's, passed through to REST.
	token  string
	remote net.Addr
	// id is the publish's id, which its reply carries (Bayeux: replies on
	// service channels reuse the request's id; deliveries have none).
	id json.RawMessage
}

// chatRef names a chat and a participant in it.
type chatRef struct {
	chatID, userID, secureKey string
}

// opResult is what an operation answers and what it does to the session's chats.
type opResult struct {
	// ans is the REST-shaped answer for the publisher.
	ans *restAnswer
	// ref is the chat the answer is about; empty when none.
	ref chatRef
	// from is the transcript position the answer was asked from; 0 for none.
	from int
	// attach attaches the session to ref's chat, with every index before from delivered.
	attach bool
	// detach ends the session's attachment to ref's chat after the answer.
	detach bool
}

// opFunc carries out one operation.
type opFunc func(sv *Server, r *opRequest) opResult

// operations are the chat operations of /service/chatV2/{service}, each
// translated into a REST call of the chat API v2.
var operations = map[string]opFunc{
	"requestChat":          requestChat,
	"requestNotifications": requestNotifications,
	"sendMessage":          action("send"),
	"startTyping":          action("startTyping"),
	"stopTyping":           action("stopTyping"),
	"pushUrl":              action("pushUrl"),
	"customNotice":         action("customNotice"),
	"updateNickname":       action("updateNickname"),
	"updateData":           action("updateData"),
	"readReceipt":          action("readReceipt"),
	"disconnect":           disconnect,
}

// publish takes a publish: a chat operation on a chat service's channel.
// Its REST-shaped answer is queued for the publisher on the same channel;
// the Bayeux ack says whether the publish was taken at all (a channel that
// is not a chat service's, or a client over its publish rate, is refused).
func (sv *Server) publish(s *session, m *message, cl *client) *message {
	service, ok := strings.CutPrefix(m.Channel, channelPrefix)
	switch {
	case !ok && !isService(m.Channel):
		sv.m.publish("", "refused")
		return m.fail("403::Publish denied", nil)
	case !ok || api.CheckService(service) != nil:
		sv.m.publish("", "refused")
		return m.fail("404::Unknown channel", nil)
	}
	s.mu.Lock()
	ok = s.rate.take(time.Now(), sv.cfg.PublishRate, sv.cfg.PublishBurst)
	s.mu.Unlock()
	if !ok {
		sv.m.publish("", "refused")
		return m.fail(errPublishRate, nil)
	}
	r := &opRequest{s: s, service: service, channel: m.Channel, token: cl.token, remote: cl.remote, id: m.ID}
	res := sv.operate(r, m.Data)
	sv.m.publish(r.op, outcome(res.ans))
	sv.answer(s, r, res)
	return m.reply(true)
}

// operate reads the operation of a publish's data and carries it out.
func (sv *Server) operate(r *opRequest, data json.RawMessage) opResult {
	if err := json.Unmarshal(data, &r.fields); err != nil || r.fields == nil {
		return opResult{ans: badOperation("data must be a JSON object with an operation")}
	}
	op, _ := formValue(r.fields["operation"])
	fn := operations[op]
	if fn == nil {
		if len(op) > 64 {
			op = op[:64]
		}
		return opResult{ans: badOperation("unknown operation %q", op)}
	}
	r.op = op
	if r.token == "" {
		r.s.mu.Lock()
		r.token = r.s.token
		r.s.mu.Unlock()
	}
	return fn(sv, r)
}

// outcome names an answer for the publishes metric.
func outcome(a *restAnswer) string {
	switch a.statusCode {
	case statusOK:
		return "ok"
	case statusRetry:
		return "retry"
	}
	return "error"
}

// requestChat creates a chat and attaches the session to it: the create's
// answer (with chatId, userId, secureKey and the first events) is the
// publisher's reply, and the pump goes on from the events it held.
func requestChat(sv *Server, r *opRequest) opResult {
	if !sv.canAttach(r.s, "") {
		return opResult{ans: tooManyChats(sv.cfg.MaxChats)}
	}
	form, bad := buildForm(r.fields, "operation", "chatId", "transcriptPosition", "userId", "secureKey", "alias")
	if bad != nil {
		return opResult{ans: bad}
	}
	ans := sv.callRetrying(r, chatPath(r.service, "", ""), form, true)
	if ans.statusCode != statusOK || ans.chatID == "" || ans.chatEnded {
		return opResult{ans: ans}
	}
	return opResult{ans: ans, ref: chatRef{ans.chatID, ans.userID, ans.secureKey}, from: 1, attach: true}
}

// requestNotifications attaches the session to an existing chat from the
// client's transcriptPosition (absent or 0: from the start): after a
// re-handshake, on this server or another. Its reply is a refresh from that
// position, so a client learns at once whether the chat goes on.
func requestNotifications(sv *Server, r *opRequest) opResult {
	ref, bad := sv.resolve(r)
	if bad != nil {
		return opResult{ans: bad}
	}
	from := 1
	if v, ok := formValue(r.fields["transcriptPosition"]); ok && v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 {
			return opResult{ans: badOperation("transcriptPosition must be a whole number")}
		}
		from = max(p, 1)
	}
	if !sv.canAttach(r.s, ref.chatID) {
		return opResult{ans: tooManyChats(sv.cfg.MaxChats)}
	}
	form := credentials(ref)
	form.Add("transcriptPosition", strconv.Itoa(from))
	ans := sv.callRetrying(r, chatPath(r.service, ref.chatID, "refresh"), form, false)
	res := opResult{ans: ans, ref: ref, from: from}
	res.attach = ans.statusCode == statusOK && !ans.chatEnded
	return res
}

// action is an operation that is one REST action of the chat. Its answer
// carries no transcript (no transcriptPosition is passed on): the pump
// delivers the events.
func action(restAction string) opFunc {
	return func(sv *Server, r *opRequest) opResult {
		ref, bad := sv.resolve(r)
		if bad != nil {
			return opResult{ans: bad}
		}
		form, bad := buildForm(r.fields, "operation", "chatId", "transcriptPosition", "userId", "secureKey")
		if bad != nil {
			return opResult{ans: bad}
		}
		if restAction == "pushUrl" && len(form.Peek("message")) == 0 { // the chat API takes the URL as message
			form.AddBytesV("message", form.Peek("pushUrl"))
		}
		addCredentials(form, ref)
		ans := sv.callRetrying(r, chatPath(r.service, ref.chatID, restAction), form, true)
		return opResult{ans: ans, ref: ref}
	}
}

// disconnect leaves the chat. Its answer carries the events from the
// client's next position (the chat's last ones), and the session detaches.
func disconnect(sv *Server, r *opRequest) opResult {
	ref, bad := sv.resolve(r)
	if bad != nil {
		return opResult{ans: bad}
	}
	form := credentials(ref)
	from := 0
	r.s.mu.Lock()
	if a := r.s.attachment(ref.chatID); a != nil && !a.stopped {
		from = a.hwm + 1
	}
	r.s.mu.Unlock()
	if from > 0 {
		form.Add("transcriptPosition", strconv.Itoa(from))
	}
	ans := sv.callRetrying(r, chatPath(r.service, ref.chatID, "disconnect"), form, true)
	return opResult{ans: ans, ref: ref, from: from, detach: !ans.retryable()}
}

// resolve names the chat and participant of an operation: the publish's
// chatId, userId and secureKey, with those it lacks filled in from the chat
// the session attached to with that chatId or that secureKey (some clients
// send only the secureKey), or from the session's only chat.
func (sv *Server) resolve(r *opRequest) (chatRef, *restAnswer) {
	var ref chatRef
	ref.chatID, _ = formValue(r.fields["chatId"])
	ref.userID, _ = formValue(r.fields["userId"])
	ref.secureKey, _ = formValue(r.fields["secureKey"])
	r.s.mu.Lock()
	var known *attachment
	switch {
	case ref.chatID != "":
		known = r.s.attachment(ref.chatID)
	case ref.secureKey != "":
		known = r.s.byKey(ref.secureKey)
	case len(r.s.chats) == 1:
		known = r.s.chats[0]
	}
	if known != nil {
		ref.chatID = known.chatID
		ref.userID = cmp.Or(ref.userID, known.userID)
		ref.secureKey = cmp.Or(ref.secureKey, known.secureKey)
	}
	r.s.mu.Unlock()
	if ref.chatID == "" {
		return ref, errorAnswer(statusError, api.CodeMissingField, "field chatId is required: this session knows no chat with this secureKey", "send the chatId of the chat")
	}
	return ref, nil
}

// canAttach reports whether the session may attach to chatID ("" for a new chat).
func (sv *Server) canAttach(s *session, chatID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if chatID != "" && s.attachment(chatID) != nil {
		return true
	}
	return len(s.chats) < sv.cfg.MaxChats || slices.ContainsFunc(s.chats, func(a *attachment) bool { return a.stopped })
}

func tooManyChats(n int) *restAnswer {
	return errorAnswer(statusError, api.CodeNotAllowed, "this session is attached to "+strconv.Itoa(n)+" chats, the most it may", "disconnect from a chat first")
}

// credentials returns a form with the participant's userId and secureKey.
func credentials(ref chatRef) *fasthttp.Args {
	form := &fasthttp.Args{}
	addCredentials(form, ref)
	return form
}

func addCredentials(form *fasthttp.Args, ref chatRef) {
	if ref.userID != "" {
		form.Add("userId", ref.userID)
	}
	if ref.secureKey != "" {
		form.Add("secureKey", ref.secureKey)
	}
}

// buildForm turns a publish's data into a REST form body: strings, numbers
// and booleans as they are, userData as userData[key] fields, eventAttributes
// as its JSON text. Empty values, null, other objects and arrays, and the
// fields in skip are left out.
func buildForm(fields map[string]json.RawMessage, skip ...string) (*fasthttp.Args, *restAnswer) {
	form := &fasthttp.Args{}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if slices.Contains(skip, k) {
			continue
		}
		raw := fields[k]
		switch k {
		case "userData":
			if bad := addUserData(form, raw); bad != nil {
				return nil, bad
			}
		case "eventAttributes":
			addJSONText(form, k, raw)
		default:
			if v, ok := formValue(raw); ok && v != "" {
				form.Add(k, v)
			}
		}
	}
	return form, nil
}

// addUserData adds an object of strings and numbers as userData[key] fields.
func addUserData(form *fasthttp.Args, raw json.RawMessage) *restAnswer {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(raw, &data); err != nil {
		return badOperation("userData must be an object of strings")
	}
	for _, k := range slices.Sorted(maps.Keys(data)) {
		v, ok := formValue(data[k])
		if !ok {
			return badOperation("userData values must be strings or numbers")
		}
		form.Add("userData["+k+"]", v)
	}
	return nil
}

// addJSONText adds a field that the chat API takes as JSON text: an object
// or array as its compact JSON, a scalar as its value.
func addJSONText(form *fasthttp.Args, key string, raw json.RawMessage) {
	if v, ok := formValue(raw); ok {
		if v != "" {
			form.Add(key, v)
		}
		return
	}
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		form.AddBytesV(key, b.Bytes())
	}
}

// callRetrying calls the REST handler for an operation, again with the same
// request id while it answers "retry" (the proxy fails over meanwhile), for
// up to PublishRetry. write gives the call a request id, so that a write
// retried after a failover is applied once.
func (sv *Server) callRetrying(r *opRequest, path string, form *fasthttp.Args, write bool) *restAnswer {
	c := &restCall{path: path, form: form, token: r.token, remote: r.remote}
	if write {
		id, err := sv.randomID()
		if err != nil {
			sv.log.Error("cannot make a request id; the operation is sent once", "err", err)
		}
		c.requestID = id
	}
	deadline := time.Now().Add(sv.cfg.PublishRetry)
	backoff := sv.cfg.RetryBackoff
	for {
		ans := sv.call(c)
		if !ans.retryable() || (write && c.requestID == "") || time.Now().Add(backoff).After(deadline) {
			return ans
		}
		t := time.NewTimer(backoff)
		select {
		case <-sv.done:
			t.Stop()
			return ans
		case <-t.C:
		}
		backoff = min(2*backoff, sv.cfg.MaxRetryBackoff)
	}
}
