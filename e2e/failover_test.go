package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/chatha/chatha/api"
)

// storeURL returns the store the failover tests run on: SQLite in a temp
// folder, or the Cassandra that CHATHA_TEST_STORE names.
func storeURL(t testing.TB) string {
	if u := os.Getenv("CHATHA_TEST_STORE"); u != "" {
		return u
	}
	return "sqlite:" + filepath.Join(t.TempDir(), "chatha.db")
}

// TestNodeKilledChatContinuesOnAnother: two node processes on one store; a
// chat on node a, messages acknowledged, a killed with SIGKILL; refresh and
// send on b succeed and b's transcript holds every acknowledged message once,
// in order, followed by the restore notices.
func TestNodeKilledChatContinuesOnAnother(t *testing.T) {
	store := storeURL(t)
	a := startNode(t, "a", store)
	b := startNode(t, "b", store)
	c := create(t, a.addr, api.Request{Nickname: "Ann", Text: "m0"})
	want := []string{"ParticipantJoined", "Message:m0"}
	for i := 1; i <= 5; i++ {
		text := fmt.Sprintf("m%d", i)
		if r := c.do(t, a.addr, "send", api.Request{Message: text}); r.Status != 200 || r.StatusCode != api.StatusOK {
			t.Fatalf("send %s: %+v", text, r)
		}
		want = append(want, "Message:"+text)
	}
	a.kill(t)

	r := c.do(t, b.addr, "refresh", api.Request{TranscriptPosition: 1})
	want = append(want, "ParticipantLeft", "ParticipantJoined")
	if r.Status != 200 || r.Alias != "b" || !slices.Equal(lines(r), want) {
		t.Fatalf("refresh on b: %d alias %q\n got %v\nwant %v\n%s", r.Status, r.Alias, lines(r), want, b.out)
	}
	for i, m := range r.Messages {
		if m.Index != i+1 {
			t.Fatalf("index %d at position %d", m.Index, i+1)
		}
	}
	if s := c.do(t, b.addr, "send", api.Request{Message: "after the kill"}); s.Status != 200 || s.StatusCode != api.StatusOK {
		t.Fatalf("send on b: %+v", s)
	}
	final := c.do(t, b.addr, "refresh", api.Request{TranscriptPosition: 1})
	if !slices.Equal(lines(final), append(want, "Message:after the kill")) {
		t.Fatalf("final transcript %v", lines(final))
	}
}

func TestSIGTERMStopsNode(t *testing.T) {
	a := startNode(t, "a", storeURL(t))
	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := a.wait(t); err != nil {
		t.Fatalf("node exited with %v after SIGTERM\n%s", err, a.out)
	}
}
