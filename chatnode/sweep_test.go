package chatnode_test

import (
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatha/chatha/chatnode"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func clockedNode(t *testing.T, clk *clock, edit func(*chatnode.Settings)) *chatnode.Node {
	return newNode(t, "a", tempStore(t), func(c *chatnode.Config) {
		c.Now = clk.Now
		c.SweepInterval = time.Hour // the test sweeps by hand
		edit(&c.Settings)
	})
}

func TestInactivityControl(t *testing.T) {
	clk := &clock{t: time.Now()}
	n := clockedNode(t, clk, func(s *chatnode.Settings) {
		s.InactivityEnabled = true
		s.InactivityAlert, s.InactivityAlert2, s.InactivityClose = 60*time.Second, 30*time.Second, 20*time.Second
		s.FlexDisconnectTimeout = 0
	})
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}, "text": {"hi"}})
	steps := []struct {
		after time.Duration
		want  string
	}{{59 * time.Second, ""}, {time.Second, "IdleAlert"}, {30 * time.Second, "IdleAlert"}, {19 * time.Second, ""}, {time.Second, "IdleClose"}}
	seen := 2
	for _, st := range steps {
		clk.Add(st.after)
		n.SweepNow()
		r := c.do(t, n, "refresh")
		got := texts(r)[seen:]
		if (st.want == "" && len(got) != 0) || (st.want != "" && (len(got) != 1 || got[0][:len(st.want)] != st.want)) {
			t.Fatalf("after %v more: new events %v, want %q", st.after, got, st.want)
		}
		seen = len(r.Messages)
	}
	if r := c.do(t, n, "refresh"); !r.ChatEnded {
		t.Fatal("chat did not end after IdleClose")
	}
}

func TestMessageResetsInactivity(t *testing.T) {
	clk := &clock{t: time.Now()}
	n := clockedNode(t, clk, func(s *chatnode.Settings) {
		s.InactivityEnabled = true
		s.InactivityAlert, s.InactivityClose = time.Minute, time.Minute
		s.FlexDisconnectTimeout = 0
	})
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	clk.Add(50 * time.Second)
	c.send(t, n, "still here")
	clk.Add(50 * time.Second)
	n.SweepNow()
	if got := texts(c.do(t, n, "refresh")); slices.Contains(got, "IdleAlert:the chat will close soon if nobody writes") {
		t.Fatalf("alert although a message came 50s ago: %v", got)
	}
}

func TestFlexDisconnect(t *testing.T) {
	clk := &clock{t: time.Now()}
	n := clockedNode(t, clk, func(s *chatnode.Settings) { s.FlexDisconnectTimeout = 45 * time.Second })
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	j := call(t, n, "POST", "/agent/1/chat/"+c.id+"/join", url.Values{"nickname": {"Bob"}})
	agent := handle{c.id, j.UserID, j.SecureKey}
	clk.Add(30 * time.Second)
	c.do(t, n, "refresh")
	clk.Add(20 * time.Second) // the agent is silent for 50s, the client for 20s
	n.SweepNow()
	got := texts(c.do(t, n, "refresh"))
	if got[len(got)-1] != "ParticipantLeft" || n.Sessions() != 1 {
		t.Fatalf("after the agent's silence: %v", got)
	}
	if r := agent.do(t, n, "send", "message", "back"); r.Status != 409 {
		t.Fatalf("a disconnected agent could send: %d", r.Status)
	}
	clk.Add(46 * time.Second)
	n.SweepNow()
	if n.Sessions() != 0 {
		t.Fatal("silent client did not end the chat")
	}
}
