package chatnode_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chatnode"
)

const adminToken = "admin-secret"

// admin runs an admin request with the cluster token and decodes a 200
// answer into out; it returns the status.
func admin(t *testing.T, n *chatnode.Node, method, path string, out any) int {
	t.Helper()
	ctx := serve(n, method, path, "", nil, "Authorization", "Bearer "+adminToken)
	if ctx.Response.StatusCode() == 200 && out != nil {
		if err := json.Unmarshal(ctx.Response.Body(), out); err != nil {
			t.Fatalf("%s %s: %v: %q", method, path, err, ctx.Response.Body())
		}
	}
	return ctx.Response.StatusCode()
}

// lifecycleNode is a node with a cluster token, customerId indexed and
// its logs in buf.
func lifecycleNode(t *testing.T, st chat.Store, buf *bytes.Buffer, edit ...func(*chatnode.Config)) *chatnode.Node {
	return newNode(t, "a", st, append([]func(*chatnode.Config){func(c *chatnode.Config) {
		c.ClusterToken = adminToken
		c.Settings.EraseIndexKeys = []string{"customerId"}
		c.Logger = slog.New(slog.NewTextHandler(buf, nil))
	}}, edit...)...)
}

// TestEraseLiveChat: erasing a live chat ends it (its participant is told
// it closed and erased, and sees nothing of it), removes every row of it,
// its create claim and index entry included, and logs what was removed
// without any of the content.
func TestEraseLiveChat(t *testing.T) {
	st := tempStore(t)
	var logs bytes.Buffer
	n := lifecycleNode(t, st, &logs)
	form := url.Values{"nickname": {"Ann"}, "userData[customerId]": {"C42"}, "text": {"my card number"}}
	r := call(t, n, "POST", "/genesys/2/chat/support", form, "X-Request-Id", "create-0123456789abcdef")
	c := handle{r.ChatID, r.UserID, r.SecureKey}
	c.send(t, n, "my address")
	if status := serve(n, "POST", "/v1/admin/erase/"+c.id, "", nil).Response.StatusCode(); status != 401 {
		t.Fatalf("erase without the cluster token: %d", status)
	}
	var e api.Erasure
	if status := admin(t, n, "POST", "/v1/admin/erase/"+c.id, &e); status != 200 {
		t.Fatalf("erase: %d", status)
	}
	if !e.EndedLive || e.Node != "a" || !e.Erased.Session || e.Erased.Records < 3 || e.Erased.Claims != 1 || e.Erased.Index != 1 {
		t.Fatalf("erasure = %+v, want the live chat ended and its session, records, claim and index entry", e)
	}
	after := c.do(t, n, "refresh")
	if after.Status != 410 || !after.ChatEnded || len(after.Messages) != 0 || after.Errors[0].Code != api.CodeChatEnded {
		t.Fatalf("the participant after the erasure: %+v", after)
	}
	if _, _, err := st.Load(t.Context(), c.id); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Load after the erasure: %v", err)
	}
	if ids, _ := st.ChatsByUserData(t.Context(), "customerId", "C42", 10); len(ids) != 0 {
		t.Fatalf("index after the erasure: %v", ids)
	}
	var k api.KPI
	admin(t, n, "GET", "/v1/kpi", &k)
	if k.SessionsCurrent != 0 || k.SessionClosed != 1 {
		t.Fatalf("KPIs after the erasure: %+v", k)
	}
	out := logs.String()
	if !strings.Contains(out, "chat erased") || !strings.Contains(out, "ended_live=true") {
		t.Fatalf("no erasure in the logs:\n%s", out)
	}
	for _, secret := range []string{"my card number", "my address", "C42", r.SecureKey} {
		if strings.Contains(out, secret) {
			t.Fatalf("the logs hold %q:\n%s", secret, out)
		}
	}
}

// TestExportThenEraseEndedChat: an ended chat's final transcript is read
// through the admin API, then erased with it.
func TestExportThenEraseEndedChat(t *testing.T) {
	st := tempStore(t)
	var logs bytes.Buffer
	n := lifecycleNode(t, st, &logs)
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}, "userData[customerId]": {"C42"}})
	c.send(t, n, "hello")
	if status := admin(t, n, "GET", "/v1/admin/transcripts/"+c.id, nil); status != 404 {
		t.Fatalf("transcript of a live chat: %d, want 404", status)
	}
	c.do(t, n, "disconnect")
	var final chat.Transcript
	pollFor(t, "the final transcript", func() bool { return admin(t, n, "GET", "/v1/admin/transcripts/"+c.id, &final) == 200 })
	if final.ChatID != c.id || final.UserData["customerId"] != "C42" || len(final.Messages) < 2 {
		t.Fatalf("exported transcript: %+v", final)
	}
	if status := admin(t, n, "POST", "/v1/admin/transcripts/"+c.id, nil); status != 405 {
		t.Fatalf("POST of a transcript: %d", status)
	}
	var e api.Erasure
	admin(t, n, "POST", "/v1/admin/erase/"+c.id, &e)
	if e.EndedLive || !e.Erased.Transcript || e.Erased.Index != 1 {
		t.Fatalf("erasure of an ended chat: %+v", e)
	}
	if status := admin(t, n, "GET", "/v1/admin/transcripts/"+c.id, nil); status != 404 {
		t.Fatalf("transcript after the erasure: %d, want 404", status)
	}
	if status := admin(t, n, "POST", "/v1/admin/erase/not-a-chat-id", nil); status != 400 {
		t.Fatalf("erase of a malformed id: %d, want 400", status)
	}
}

// TestEraseByUserData: every chat that had the value, at create or by
// updateData, goes; others stay. Only indexed keys are accepted.
func TestEraseByUserData(t *testing.T) {
	st := tempStore(t)
	var logs bytes.Buffer
	n := lifecycleNode(t, st, &logs)
	a, _ := createChat(t, n, url.Values{"nickname": {"Ann"}, "userData[customerId]": {"C42"}})
	b, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	b.do(t, n, "updateData", "userData[customerId]", "C42")
	other, _ := createChat(t, n, url.Values{"nickname": {"Bob"}, "userData[customerId]": {"C43"}})
	var list api.ChatList
	admin(t, n, "GET", "/v1/admin/chats?userData%5BcustomerId%5D=C42", &list)
	if len(list.ChatIDs) != 2 {
		t.Fatalf("chats of C42: %v", list.ChatIDs)
	}
	var sum api.ErasureSummary
	if status := admin(t, n, "POST", "/v1/admin/erase?userData%5BcustomerId%5D=C42", &sum); status != 200 {
		t.Fatalf("erase by userData: %d", status)
	}
	if len(sum.Chats) != 2 || len(sum.Failed) != 0 || sum.Key != "customerId" {
		t.Fatalf("erasure: %+v", sum)
	}
	for _, c := range []handle{a, b} {
		if r := c.do(t, n, "refresh"); r.Status != 410 {
			t.Fatalf("an erased chat answers %+v", r)
		}
	}
	if r := other.do(t, n, "refresh"); r.Status != 200 {
		t.Fatalf("the other customer's chat: %+v", r)
	}
	for path, want := range map[string]int{
		"/v1/admin/erase?userData%5Bnickname%5D=Ann":              400, // not indexed
		"/v1/admin/erase?customerId=C42":                          400,
		"/v1/admin/erase?userData%5BcustomerId%5D=":               400,
		"/v1/admin/erase?userData%5BcustomerId%5D=C42&userData=x": 400,
	} {
		if status := admin(t, n, "POST", path, nil); status != want {
			t.Errorf("POST %s: %d, want %d", path, status, want)
		}
	}
	if strings.Contains(logs.String(), "C42") {
		t.Fatalf("the logs hold the erased value:\n%s", logs.String())
	}
}

// TestFinalTranscriptRetentionAndOutbox: a node with a retention and an
// archive saves each final transcript with that expiry and its outbox
// entry, and kicks the archive.
func TestFinalTranscriptRetentionAndOutbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chatha.db")
	st := openStore(t, path)
	var kicks atomic.Int32
	n := newNode(t, "a", st, func(c *chatnode.Config) {
		c.Settings.TranscriptRetention = time.Hour
		c.Archive = func() { kicks.Add(1) }
	})
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	c.do(t, n, "disconnect")
	finalTranscript(t, st, c.id)
	pollFor(t, "the archive kicked", func() bool { return kicks.Load() == 1 })
	ds, err := st.DueDeliveries(t.Context(), time.Now(), 10)
	if err != nil || len(ds) != 1 || ds[0].ChatID != c.id {
		t.Fatalf("outbox: %+v, %v", ds, err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var expires int64
	if err := db.QueryRow(`SELECT expires_at FROM transcripts WHERE chat_id = ?`, c.id).Scan(&expires); err != nil {
		t.Fatal(err)
	}
	if left := time.Until(time.UnixMilli(expires)); left < 59*time.Minute || left > time.Hour {
		t.Fatalf("the transcript expires in %v, want the retention of 1h", left)
	}
}

func TestLifecycleSettings(t *testing.T) {
	for _, tc := range []struct {
		edit func(*chatnode.Settings)
		bad  string
	}{
		{func(s *chatnode.Settings) { s.TranscriptRetention = -time.Second }, "transcript-retention"},
		{func(s *chatnode.Settings) { s.TranscriptRetention = time.Millisecond }, "transcript-retention"},
		{func(s *chatnode.Settings) { s.TranscriptRetention = 21 * 365 * 24 * time.Hour }, "transcript-retention"},
		{func(s *chatnode.Settings) { s.EraseIndexKeys = []string{"ok", "bad]"} }, "erase-index-keys"},
		{func(s *chatnode.Settings) { s.TranscriptRetention = 90 * 24 * time.Hour }, ""},
	} {
		s := chatnode.DefaultSettings()
		tc.edit(&s)
		err := s.Validate()
		if (err == nil) != (tc.bad == "") || (err != nil && !strings.Contains(err.Error(), tc.bad)) {
			t.Errorf("Validate = %v, want %q", err, tc.bad)
		}
	}
}

// slowFinal holds every FinishChat until release is closed.
type slowFinal struct {
	chat.Store
	saving  chan struct{}
	release chan struct{}
}

func (s *slowFinal) FinishChat(ctx context.Context, f chat.Final) (bool, error) {
	select {
	case s.saving <- struct{}{}:
	default:
	}
	<-s.release
	return s.Store.FinishChat(ctx, f)
}

// TestEraseDuringFinalSave: a chat erased while its final transcript is
// still being saved (for longer than the erasure waits) is erased again
// once the save lands, outbox entry and all.
func TestEraseDuringFinalSave(t *testing.T) {
	st := &slowFinal{Store: tempStore(t), saving: make(chan struct{}, 1), release: make(chan struct{})}
	var logs bytes.Buffer
	var mu sync.Mutex
	n := lifecycleNode(t, st, &logs, func(c *chatnode.Config) {
		c.Archive = func() {}
		c.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	})
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	c.do(t, n, "disconnect")
	<-st.saving
	var e api.Erasure
	if status := admin(t, n, "POST", "/v1/admin/erase/"+c.id, &e); status != 200 || e.Erased.Transcript {
		t.Fatalf("erase during the save: %d %+v", status, e)
	}
	close(st.release)
	pollFor(t, "the late transcript erased", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(logs.String(), "after=\"its final save\"")
	})
	if _, err := st.Transcript(t.Context(), c.id); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("the transcript saved after the erasure: %v", err)
	}
	if ds, _ := st.DueDeliveries(t.Context(), time.Now().Add(time.Hour), 10); len(ds) != 0 {
		t.Fatalf("the outbox after the late erasure: %+v", ds)
	}
}

// lockedWriter serialises writes to w, which a test reads meanwhile.
type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
