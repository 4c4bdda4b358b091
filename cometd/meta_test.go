package cometd_test

import (
	"testing"
)

// TestMetaChannels checks the answers to the Bayeux meta messages and to
// publishes outside the chat services.
func TestMetaChannels(t *testing.T) {
	fake := newFakeREST(true)
	ts := startServer(t, fake.Handler)
	b := newBayeux(t, ts.url, false)
	b.Handshake()
	b.FirstConnect()
	tests := []struct {
		name string
		msg  bmsg
		ok   bool
		err  string
	}{
		{"subscribe to a chat service", bmsg{Channel: "/meta/subscribe", Subscription: "/service/chatV2/support"}, true, ""},
		{"subscribe to several service channels", bmsg{Channel: "/meta/subscribe", Subscription: []string{"/service/chatV2/a", "/service/chatV2/b"}}, true, ""},
		{"subscribe to a broadcast channel", bmsg{Channel: "/meta/subscribe", Subscription: "/chat/support"}, false, "403::Subscription denied"},
		{"subscribe to a meta channel", bmsg{Channel: "/meta/subscribe", Subscription: "/meta/connect"}, false, "403::Subscription denied"},
		{"subscribe to nothing", bmsg{Channel: "/meta/subscribe"}, false, "400::Subscription missing"},
		{"unsubscribe", bmsg{Channel: "/meta/unsubscribe", Subscription: "/service/chatV2/support"}, true, ""},
		{"unknown meta channel", bmsg{Channel: "/meta/fly"}, false, "404::Unknown channel"},
		{"publish to a broadcast channel", bmsg{Channel: "/chat/support", Data: jsonOf(map[string]any{"operation": "sendMessage"})}, false, "403::Publish denied"},
		{"publish to another service", bmsg{Channel: "/service/other", Data: jsonOf(map[string]any{})}, false, "404::Unknown channel"},
		{"publish to a bad service name", bmsg{Channel: "/service/chatV2/a b", Data: jsonOf(map[string]any{})}, false, "404::Unknown channel"},
		{"no channel", bmsg{}, false, "400::Message has no channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.msg
			m.ID, m.ClientID = b.NewID(), b.ClientID
			r := b.RoundTrip("/", []bmsg{m})
			if len(r) != 1 || r[0].OK() != tt.ok || r[0].Error != tt.err || r[0].ID != m.ID {
				t.Fatalf("reply %+v; want ok=%v error %q, id %s", r, tt.ok, tt.err, m.ID)
			}
			if m.Subscription != nil && tt.err != "400::Subscription missing" && r[0].Subscription == nil {
				t.Fatalf("reply without its subscription: %+v", r[0])
			}
		})
	}

	t.Run("handshake without a common connection type", func(t *testing.T) {
		r := b.RoundTrip("/handshake", []bmsg{{Channel: "/meta/handshake", ID: "h", Version: "1.0", SupportedConnectionTypes: []string{"callback-polling"}}})
		if len(r) != 1 || r[0].OK() || r[0].Error != "403::No connection type in common" {
			t.Fatalf("reply %+v", r)
		}
	})
	for _, ch := range []string{"/meta/connect", "/meta/subscribe", "/service/chatV2/support", "/meta/disconnect"} {
		t.Run("unknown client on "+ch, func(t *testing.T) {
			r := b.RoundTrip("/", []bmsg{{Channel: ch, ID: "u", ClientID: "0123456789abcdef0123456789abcdef", Subscription: "/service/chatV2/x", Data: jsonOf(map[string]any{})}})
			if len(r) != 1 || r[0].OK() || r[0].Error != "402::Unknown client" || r[0].Advice["reconnect"] != "handshake" || r[0].Advice["interval"] != float64(0) {
				t.Fatalf("reply %+v", r)
			}
		})
	}
	t.Run("disconnect", func(t *testing.T) {
		r := b.RoundTrip("/disconnect", []bmsg{{Channel: "/meta/disconnect", ID: b.NewID(), ClientID: b.ClientID}})
		if len(r) != 1 || !r[0].OK() {
			t.Fatalf("reply %+v", r)
		}
		b.Expect402()
	})
}

// TestBatching: messages batched in one body are answered in one body, the
// deliveries first (here the reply of a publish), then the replies in order.
func TestBatching(t *testing.T) {
	fake := newFakeREST(true)
	ts := startServer(t, fake.Handler)
	b := newBayeux(t, ts.url, false)
	b.Handshake()
	_, out := b.Post("/", []bmsg{
		{Channel: "/meta/connect", ID: "c1", ClientID: b.ClientID, ConnectionType: "long-polling", Advice: map[string]any{"timeout": 0}},
		{Channel: "/meta/subscribe", ID: "s1", ClientID: b.ClientID, Subscription: "/service/chatV2/support"},
		{Channel: "/service/chatV2/support", ID: "p1", ClientID: b.ClientID, Data: jsonOf(map[string]any{"operation": "requestChat", "nickname": "Bo"})},
	})
	var order []string
	for _, m := range out {
		kind := "reply"
		if m.Successful == nil {
			kind = "delivery"
		}
		order = append(order, kind+":"+m.Channel+":"+m.ID)
	}
	want := []string{"delivery:/service/chatV2/support:p1", "reply:/meta/subscribe:s1", "reply:/service/chatV2/support:p1", "reply:/meta/connect:c1"}
	if len(order) != len(want) {
		t.Fatalf("answer %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("answer %v, want %v", order, want)
		}
	}
}
