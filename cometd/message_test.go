package cometd

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestParseMessages(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		n       int
		wantErr string
	}{
		{"array", `[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"]},{"channel":"/meta/connect","clientId":"x"}]`, 2, ""},
		{"single object", `{"channel":"/meta/connect","clientId":"x","id":7}`, 1, ""},
		{"empty array", `[]`, 0, ""},
		{"empty", `  `, 0, "empty"},
		{"not json", `hello`, 0, "not a JSON array"},
		{"array of numbers", `[1,2]`, 0, "not a JSON array"},
		{"clientId a number", `[{"channel":"/meta/connect","clientId":5}]`, 0, "not a JSON array"},
		{"too many", "[" + strings.Repeat(`{"channel":"/a"},`, 4) + `{"channel":"/a"}]`, 0, "Too many messages"},
		{"long channel", `[{"channel":"/` + strings.Repeat("a", maxChannel) + `"}]`, 0, "channel is longer"},
		{"long id", `[{"channel":"/a","id":"` + strings.Repeat("1", maxID) + `"}]`, 0, "id is longer"},
		{"long clientId", `[{"channel":"/a","clientId":"` + strings.Repeat("c", maxClientID+1) + `"}]`, 0, "clientId is longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := parseMessages([]byte(tt.body), 4)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(msgs) != tt.n {
				t.Fatalf("got %d messages, err %v; want %d", len(msgs), err, tt.n)
			}
		})
	}
}

func TestMessageIDEcho(t *testing.T) {
	msgs, err := parseMessages([]byte(`[{"channel":"/meta/connect","id":"17"},{"channel":"/meta/connect","id":18},{"channel":"/meta/connect","id":{"a":1}}]`), 10)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false} {
		if got := validID(msgs[i].ID); got != want {
			t.Errorf("message %d: validID = %v, want %v", i, got, want)
		}
	}
	r := msgs[0].reply(true)
	if got := string(r.encode()); got != `{"channel":"/meta/connect","id":"17","successful":true}` {
		t.Errorf("reply = %s", got)
	}
}

func TestUnknownClientReply(t *testing.T) {
	m := message{Channel: chanConnect, ID: json.RawMessage(`"3"`)}
	got := string(m.fail(errUnknownClient, handshakeAdvice()).encode())
	want := `{"channel":"/meta/connect","id":"3","successful":false,"error":"402::Unknown client","advice":{"reconnect":"handshake","interval":0}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// FuzzParseMessages feeds the parser and the server's whole path for one
// body with anything: it must not panic, and what it accepts stays within
// the batch limit and the field limits.
func FuzzParseMessages(f *testing.F) {
	for _, seed := range []string{
		`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["websocket","long-polling"],"id":"1"}]`,
		`[{"channel":"/meta/connect","clientId":"abc","connectionType":"long-polling","advice":{"timeout":0},"id":"2"}]`,
		`[{"channel":"/service/chatV2/support","clientId":"abc","data":{"operation":"requestChat","nickname":"Ann","userData":{"a":"b"}},"id":3}]`,
		`{"channel":"/meta/subscribe","clientId":"abc","subscription":["/service/chatV2/x","/y"]}`,
		`[{"channel":"/meta/unsubscribe","subscription":5}]`,
		`[null]`, `[[]]`, `"x"`, `{}`, `[{"advice":{"timeout":"x"}}]`, `[{"id":1e400}]`,
	} {
		f.Add([]byte(seed))
	}
	rest := func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(400)
		ctx.SetBodyString(`{"statusCode":2,"chatEnded":false,"messages":[],"errors":[{"code":100,"message":"no"}]}`)
	}
	srv, err := New(DefaultLocalConfig(rest))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(srv.Close)
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, err := parseMessages(body, 8)
		if err != nil {
			return
		}
		if len(msgs) > 8 {
			t.Fatalf("%d messages accepted, limit 8", len(msgs))
		}
		for _, m := range msgs {
			if len(m.Channel) > maxChannel || len(m.ID) > maxID || len(m.ClientID) > maxClientID {
				t.Fatalf("a field over its limit was accepted: %+v", m)
			}
			_, _ = subscriptions(m.Subscription)
		}
		b := srv.process(msgs, &client{transport: longPolling, remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}})
		for _, r := range b.replies {
			if !json.Valid(r) {
				t.Fatalf("reply is not JSON: %s", r)
			}
		}
	})
}
