package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
)

// TestLongTranscriptThroughProxy: a chat of 262 messages of 16 KiB (more
// than 4 MiB of transcript, each message within the limits) is read through
// the proxy from position 1: every answer is a 200 with a bounded page, and
// refreshing from each nextPosition gets every message once, in order. No
// node is taken for failed, nothing is restored, and other chats stay where
// they are.
//
// The proxy waits as long as a node takes (a timeout would mark it broken,
// which is right for a stalled node): on a busy machine, writing and
// reading 4 MiB can take longer than the default 3 s per request, and the
// test is about sizes and pages, not time.
func TestLongTranscriptThroughProxy(t *testing.T) {
	c := newClusterWith(t, 3, &cluster{proxyArgs: []string{"--request-timeout", "30s"}})
	px := c.addProxy("proxy-1").addr
	others := map[chat]string{}
	for i := range 6 {
		r := createReply(t, px, api.Request{Nickname: fmt.Sprint("other ", i)})
		others[chatOf(r)] = r.Node
	}
	long := create(t, px, api.Request{Nickname: "Ann"})
	const count, size = 262, 16 << 10
	var sent []string
	for i := range count {
		prefix := fmt.Sprintf("m%03d ", i)
		text := prefix + strings.Repeat("x", size-len(prefix))
		if r := long.do(t, px, "send", api.Request{Message: text}); r.Status != 200 {
			t.Fatalf("send %d: %d %+v", i, r.Status, r.Errors)
		}
		sent = append(sent, text)
	}

	var got []string
	pos, pages := 1, 0
	for {
		r := long.do(t, px, "refresh", api.Request{TranscriptPosition: pos})
		if r.Status != 200 || r.StatusCode != api.StatusOK {
			t.Fatalf("refresh from %d: %d %+v", pos, r.Status, r.Errors)
		}
		if len(r.Messages) == 0 {
			break
		}
		bytes := 0
		for i, m := range r.Messages {
			if m.Index != pos+i {
				t.Fatalf("refresh from %d: message %d has index %d", pos, i, m.Index)
			}
			bytes += len(m.Text)
			if m.Type == "Message" {
				got = append(got, m.Text)
			}
		}
		if len(r.Messages) > 100 || bytes > 1<<20 {
			t.Fatalf("refresh from %d: a page of %d messages, %d bytes of text", pos, len(r.Messages), bytes)
		}
		if r.NextPosition != pos+len(r.Messages) {
			t.Fatalf("refresh from %d: %d messages, nextPosition %d", pos, len(r.Messages), r.NextPosition)
		}
		pos, pages = r.NextPosition, pages+1
	}
	if len(got) != len(sent) {
		t.Fatalf("read %d messages in %d pages, sent %d", len(got), pages, len(sent))
	}
	for i := range sent {
		if got[i] != sent[i] {
			t.Fatalf("message %d is %.8q, want %.8q", i, got[i], sent[i])
		}
	}

	for _, m := range members(t, c.proxies[0]) {
		if m.Broken {
			t.Errorf("%s is marked broken", m.Name)
		}
	}
	// The proxy gives each node ProbeTimeout (500 ms) to answer its KPIs
	// and reports those that did not as unreachable: ask until all three
	// answered in time, each answer saying that nothing was restored.
	waitFor(t, 30*time.Second, "the KPIs of every node", func() bool {
		k, err := clientOf(t, px).ClusterKPI(context.Background())
		if err != nil || k.Total.SessionRestored != 0 {
			t.Fatalf("KPIs: %v, %d chats restored, want 0", err, k.Total.SessionRestored)
		}
		return len(k.Nodes) == 3
	})
	for ch, node := range others {
		if r := ch.do(t, px, "refresh", api.Request{}); r.Status != 200 || r.Node != node {
			t.Errorf("chat %s moved from %s to %s (%d)", ch.id, node, r.Node, r.Status)
		}
	}
}
