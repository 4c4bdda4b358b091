package chatnode_test

import (
	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chatnode"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestChatFlow(t *testing.T) {
	n := newNode(t, "a", tempStore(t))
	c, r := createChat(t, n, url.Values{"firstName": {"Ann"}, "lastName": {"Lee"}, "text": {"hi"}, "userData[order]": {"42"}})
	if r.Alias != "a" || r.NextPosition != 3 {
		t.Fatalf("create: %+v", r)
	}
	c.send(t, n, "second")
	c.do(t, n, "startTyping")
	c.do(t, n, "pushUrl", "message", "https://example.com/help")
	c.do(t, n, "customNotice", "message", "note")
	c.do(t, n, "updateNickname", "nickname", "Annie")
	c.do(t, n, "updateData", "userData[order]", "43")
	got := c.do(t, n, "refresh", "transcriptPosition", "1")
	checkDense(t, got)
	want := []string{"ParticipantJoined", "Message:hi", "Message:second", "TypingStarted", "PushUrl:https://example.com/help", "CustomNotice:note", "NicknameUpdated:Annie"}
	if !slices.Equal(texts(got), want) {
		t.Fatalf("transcript = %v, want %v", texts(got), want)
	}
	if got.Messages[0].From.Nickname != "Ann Lee" || got.Messages[6].From.Nickname != "Annie" {
		t.Fatalf("nicknames: %+v", got.Messages)
	}
	if got.UserData["order"] != "43" || got.Monitored == nil || *got.Monitored {
		t.Fatalf("refresh: userData %v monitored %v, want the chat's userData and false", got.UserData, got.Monitored)
	}
	from3 := c.do(t, n, "refresh", "transcriptPosition", "3")
	if len(from3.Messages) != 5 || from3.Messages[0].Index != 3 || from3.NextPosition != 8 {
		t.Fatalf("refresh from 3: %v next %d", texts(from3), from3.NextPosition)
	}
	if none := c.do(t, n, "refresh", "transcriptPosition", "0"); len(none.Messages) != 0 || none.NextPosition != 8 {
		t.Fatalf("refresh from 0: %v next %d, want no messages", texts(none), none.NextPosition)
	}
	end := c.do(t, n, "disconnect")
	if !end.ChatEnded || end.StatusCode != api.StatusOK || end.Status != 200 {
		t.Fatalf("disconnect: %d %+v, want a normal end: statusCode 0 and chatEnded", end.Status, end)
	}
	if after := c.do(t, n, "refresh"); !after.ChatEnded || after.StatusCode != api.StatusOK {
		t.Fatalf("refresh after the end: %+v", after)
	}
	if k := n.KPI(); k.SessionCreated != 1 || k.SessionClosed != 1 || k.SessionsCurrent != 0 || k.MessagesAccepted != 2 {
		t.Fatalf("kpi = %+v", k)
	}
}

func TestAgentJoinQueueAndTyping(t *testing.T) {
	n := newNode(t, "a", tempStore(t))
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	q := call(t, n, "GET", "/agent/1/queue", nil)
	if q.Status != 200 {
		t.Fatalf("queue: %+v", q)
	}
	j := call(t, n, "POST", "/agent/1/chat/"+c.id+"/join", url.Values{"nickname": {"Bob"}})
	if j.Status != 200 || j.SecureKey == "" || j.UserID == c.user {
		t.Fatalf("join: %+v", j)
	}
	agent := handle{c.id, j.UserID, j.SecureKey}
	agent.do(t, n, "startTyping")
	agent.do(t, n, "stopTyping")
	agent.do(t, n, "startTyping")
	got := c.do(t, n, "refresh", "transcriptPosition", "3")
	if !slices.Equal(texts(got), []string{"TypingStarted", "TypingStopped", "TypingStarted"}) || got.Messages[0].From.Type != "Agent" {
		t.Fatalf("client sees %v, want the agent's typing notices", texts(got))
	}
	for i, m := range got.Messages {
		if m.Index != 3+i {
			t.Fatalf("typing notice %d has index %d, want %d", i, m.Index, 3+i)
		}
	}
	if again := c.do(t, n, "refresh", "transcriptPosition", strconv.Itoa(got.NextPosition)); len(again.Messages) != 0 {
		t.Fatalf("refresh from nextPosition repeats: %v", texts(again))
	}
	agent.send(t, n, "how can I help?")
	agent.do(t, n, "disconnect")
	if r := c.send(t, n, "still here"); r.ChatEnded {
		t.Fatal("chat ended when the agent left")
	}
}

func TestBadInput(t *testing.T) {
	n := newNode(t, "a", tempStore(t), func(c *chatnode.Config) { c.AgentToken = "agent-secret"; c.ClusterToken = "admin-secret" })
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	base := "/genesys/2/chat/support/"
	ok := url.Values{"userId": {c.user}, "secureKey": {c.key}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range ok {
			v[k] = vs
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name, method, path string
		form               url.Values
		status, code       int
	}{
		{"create without nickname", "POST", "/genesys/2/chat/support", url.Values{"subject": {"x"}}, 400, api.CodeMissingField},
		{"bad service name", "POST", "/genesys/2/chat/sup%20port", url.Values{"nickname": {"a"}}, 400, api.CodeBadRequest},
		{"unknown chat", "POST", base + strings.Repeat("0", 32) + "/send", with("message", "x"), 404, api.CodeUnknownChat},
		{"malformed chat id", "POST", base + "nope/send", with("message", "x"), 404, api.CodeUnknownChat},
		{"wrong key", "POST", base + c.id + "/send", url.Values{"userId": {c.user}, "secureKey": {"bad"}, "message": {"x"}}, 403, api.CodeBadKey},
		{"unknown action", "POST", base + c.id + "/explode", ok, 400, api.CodeBadRequest},
		{"send without message", "POST", base + c.id + "/send", ok, 400, api.CodeMissingField},
		{"message too large", "POST", base + c.id + "/send", with("message", strings.Repeat("x", 16<<10+1)), 413, api.CodeTooLarge},
		{"nickname too large", "POST", "/genesys/2/chat/support", url.Values{"nickname": {strings.Repeat("n", 2000)}}, 413, api.CodeTooLarge},
		{"bad position", "POST", base + c.id + "/refresh", with("transcriptPosition", "-3"), 400, api.CodeBadRequest},
		{"GET on chat API", "GET", base + c.id + "/refresh", nil, 405, api.CodeMethod},
		{"no such endpoint", "GET", "/nope/nope", nil, 404, api.CodeNotFound},
		{"agent without token", "POST", "/agent/1/chat/" + c.id + "/join", url.Values{"nickname": {"b"}}, 401, api.CodeUnauthorized},
		{"admin without token", "POST", "/v1/admin/drain", nil, 401, api.CodeUnauthorized},
		{"invalid utf-8", "POST", base + c.id + "/send", with("message", "\xff\xfe"), 400, api.CodeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, n, tc.method, tc.path, tc.form)
			if r.Status != tc.status || len(r.Errors) != 1 || r.Errors[0].Code != tc.code || r.Errors[0].Message == "" {
				t.Fatalf("got %d %+v, want %d code %d", r.Status, r.Errors, tc.status, tc.code)
			}
		})
	}
	if got := c.do(t, n, "refresh"); len(got.Messages) != 1 {
		t.Fatalf("bad requests changed the chat: %v", texts(got))
	}
}

func TestRequestIDIsAppendedOnce(t *testing.T) {
	n := newNode(t, "a", tempStore(t))
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	form := url.Values{"userId": {c.user}, "secureKey": {c.key}, "message": {"once"}}
	for range 3 {
		r := call(t, n, "POST", "/genesys/2/chat/support/"+c.id+"/send", form, "X-Request-Id", "req-1")
		if r.Status != 200 {
			t.Fatalf("send: %+v", r)
		}
	}
	if got := texts(c.do(t, n, "refresh")); !slices.Equal(got, []string{"ParticipantJoined", "Message:once"}) {
		t.Fatalf("transcript = %v", got)
	}
}

func TestDrainAndLimit(t *testing.T) {
	n := newNode(t, "a", tempStore(t), func(c *chatnode.Config) {
		c.Settings.LimitForSessions = 3
		c.Settings.LimitsRestoreThreshold = 50
	})
	var chats []handle
	for range 3 {
		c, _ := createChat(t, n, url.Values{"nickname": {"x"}})
		chats = append(chats, c)
	}
	if r := call(t, n, "POST", "/genesys/2/chat/support", url.Values{"nickname": {"y"}}); r.Status != 503 || r.StatusCode != api.StatusRetry {
		t.Fatalf("create on a full node: %+v", r)
	}
	chats[0].do(t, n, "disconnect")
	if n.Mode().String() != "full" {
		t.Fatalf("mode %v, want full until below 50%%", n.Mode())
	}
	chats[1].do(t, n, "disconnect")
	if n.Mode().String() != "active" {
		t.Fatalf("mode %v, want active", n.Mode())
	}
	call(t, n, "POST", "/v1/admin/drain", nil)
	if r := call(t, n, "POST", "/genesys/2/chat/support", url.Values{"nickname": {"y"}}); r.Status != 503 {
		t.Fatalf("create on a draining node: %+v", r)
	}
	chats[2].send(t, n, "a draining node keeps serving its chats")
}
