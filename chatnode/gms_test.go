package chatnode_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chatnode"
)

// TestGMSClientRequests: what GMS clients send works as they expect: create
// with a trailing slash, as multipart, with empty credentials; the secure
// key alone authenticates; pushUrl takes its field; transcriptPosition=0
// asks for no messages.
func TestGMSClientRequests(t *testing.T) {
	n := newNode(t, "a", tempStore(t))
	form := url.Values{"nickname": {"Ann"}, "alias": {""}, "secureKey": {""}, "userId": {""}, "text": {""}, "userData[GCTI_LanguageCode]": {"en"}}
	r := call(t, n, "POST", "/genesys/2/chat/support/", form)
	if r.Status != 200 || r.SecureKey == "" || len(r.Messages) != 1 || r.Messages[0].Index != 1 || r.UserData["GCTI_LanguageCode"] != "en" ||
		r.Monitored == nil || *r.Monitored {
		t.Fatalf("widget create (trailing slash, empty credentials): %d %+v", r.Status, r)
	}
	c := handle{r.ChatID, r.UserID, r.SecureKey}
	body, ctype, err := api.MultipartBody(&api.Request{FirstName: "Bo", LastName: "Lee", PositionGiven: true}, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := callBody(t, n, "POST", "/genesys/2/chat/support", ctype, body); m.Status != 200 || m.ChatID == "" || len(m.Messages) != 0 {
		t.Fatalf("multipart create with transcriptPosition=0: %d %+v", m.Status, m)
	}

	byKey := func(action string, kv ...string) *api.Reply {
		form := url.Values{"secureKey": {c.key}}
		for i := 0; i+1 < len(kv); i += 2 {
			form.Set(kv[i], kv[i+1])
		}
		return call(t, n, "POST", "/genesys/2/chat/support/"+c.id+"/"+action, form)
	}
	if r := byKey("send", "message", "key only"); r.Status != 200 || r.UserID != c.user {
		t.Fatalf("send with the secure key alone: %d %+v", r.Status, r)
	}
	if r := byKey("send", "message", "x", "userId", "0123456789abcdef"); r.Status != 403 {
		t.Fatalf("send with the key and another participant's userId: %d %+v", r.Status, r)
	}
	if r := byKey("pushUrl", "pushUrl", "https://example.com/help"); r.Status != 200 {
		t.Fatalf("pushUrl field: %d %+v", r.Status, r)
	}
	if r := byKey("pushUrl", "pushUrl", "javascript:alert(1)"); r.Status != 400 {
		t.Fatalf("pushUrl of a script: %d %+v", r.Status, r)
	}
	if r := byKey("startTyping", "transcriptPosition", "0"); r.Status != 200 || len(r.Messages) != 0 {
		t.Fatalf("startTyping with transcriptPosition=0: %+v", r)
	}
	r = byKey("refresh")
	checkDense(t, r)
	want := []string{"ParticipantJoined", "Message:key only", "PushUrl:https://example.com/help", "TypingStarted"}
	if !slices.Equal(texts(r), want) {
		t.Fatalf("transcript %v, want %v", texts(r), want)
	}
	if r := byKey("refresh", "transcriptPosition", "-1"); r.Status != 400 {
		t.Fatalf("refresh from -1: %d", r.Status)
	}
}

// TestReadReceipt: a read receipt records how far the participant read as
// an internal record (no event, no index), moving forward only, and is
// answered like a refresh; the final transcript keeps the position.
func TestReadReceipt(t *testing.T) {
	st := tempStore(t)
	n := newNode(t, "a", st)
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}, "text": {"one"}})
	c.send(t, n, "two")
	r := c.do(t, n, "readReceipt", "transcriptPosition", "3")
	if r.Status != 200 || !slices.Equal(texts(r), []string{"Message:two"}) || r.Monitored == nil {
		t.Fatalf("readReceipt: %d %v", r.Status, texts(r))
	}
	c.do(t, n, "readReceipt", "transcriptPosition", "2") // behind: no change
	if r := c.do(t, n, "readReceipt"); r.Status != 400 {
		t.Fatalf("readReceipt without a position: %d", r.Status)
	}
	got := c.do(t, n, "refresh")
	checkDense(t, got)
	if len(got.Messages) != 3 {
		t.Fatalf("a read receipt shows in the transcript: %v", texts(got))
	}
	c.do(t, n, "disconnect")
	final := finalTranscript(t, st, c.id)
	if final.Participants[0].ReadPosition != 2 {
		t.Fatalf("final transcript participants %+v, want Ann read up to 2", final.Participants)
	}
}

// finalTranscript polls the store for a chat's final transcript.
func finalTranscript(t *testing.T, st chat.Store, id string) chat.Transcript {
	t.Helper()
	var raw []byte
	pollFor(t, "the final transcript", func() bool {
		var err error
		raw, err = st.Transcript(t.Context(), id)
		return !errors.Is(err, chat.ErrUnknownChat)
	})
	var final chat.Transcript
	if err := json.Unmarshal(raw, &final); err != nil {
		t.Fatal(err)
	}
	return final
}

// TestFinalTranscriptKeepsIndexes: typing and notices are in the chat's log,
// each at its own index; transcript-save-notices decides what the final
// transcript keeps of them, at the indexes clients saw.
func TestFinalTranscriptKeepsIndexes(t *testing.T) {
	for _, tc := range []struct {
		notices chatnode.SaveNotices
		want    []int
	}{
		{chatnode.NoticesAll, []int{1, 2, 3, 4, 5, 6}},
		{chatnode.NoticesMajor, []int{1, 3, 4, 6}},
		{chatnode.NoticesNone, []int{1, 3, 6}},
	} {
		t.Run(tc.notices.String(), func(t *testing.T) {
			st := openStore(t, filepath.Join(t.TempDir(), "f.db"))
			n := newNode(t, "a", st, func(c *chatnode.Config) { c.Settings.SaveNotices = tc.notices })
			c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
			c.do(t, n, "startTyping")
			c.send(t, n, "hello")
			c.do(t, n, "customNotice", "message", "note")
			c.do(t, n, "stopTyping")
			if r := c.do(t, n, "refresh"); len(r.Messages) != 5 {
				t.Fatalf("the log as clients see it: %v", texts(r))
			}
			c.do(t, n, "disconnect")
			var got []int
			for _, m := range finalTranscript(t, st, c.id).Messages {
				got = append(got, m.Index)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("final transcript indexes %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCORSOnNode: the node answers a preflight from an allowed origin, adds
// the CORS headers to its answers, and refuses a request from any other
// origin before it does anything: its create makes no chat.
func TestCORSOnNode(t *testing.T) {
	cors, err := api.ParseCORS("https://shop.example.com")
	if err != nil {
		t.Fatal(err)
	}
	n := newNode(t, "a", tempStore(t), func(c *chatnode.Config) { c.CORS = cors })
	pre := serve(n, "OPTIONS", "/genesys/2/chat/support/", "", nil, "Origin", "https://shop.example.com",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "apikey")
	if pre.Response.StatusCode() != 204 || string(pre.Response.Header.Peek("Access-Control-Allow-Origin")) != "https://shop.example.com" {
		t.Fatalf("preflight: %d %s", pre.Response.StatusCode(), pre.Response.Header.String())
	}
	ok := serve(n, "POST", "/genesys/2/chat/support", "application/x-www-form-urlencoded", []byte("nickname=Ann"), "Origin", "https://shop.example.com")
	if ok.Response.StatusCode() != 200 || string(ok.Response.Header.Peek("Access-Control-Allow-Origin")) != "https://shop.example.com" {
		t.Fatalf("allowed create: %d %s", ok.Response.StatusCode(), ok.Response.Header.String())
	}
	bad := serve(n, "POST", "/genesys/2/chat/support", "application/x-www-form-urlencoded", []byte("nickname=Eve"), "Origin", "https://evil.example.com")
	if bad.Response.StatusCode() != 403 || len(bad.Response.Header.Peek("Access-Control-Allow-Origin")) > 0 {
		t.Fatalf("create from another origin: %d %s", bad.Response.StatusCode(), bad.Response.Header.String())
	}
	if n.Sessions() != 1 || n.KPI().SessionCreated != 1 {
		t.Fatalf("the refused create made a chat: %d live, %+v", n.Sessions(), n.KPI())
	}
}
