package cometd

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestRequestedWait(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"25s", 25 * time.Second},
		{"1500ms", 1500 * time.Millisecond},
		{"10m", time.Minute},
		{"-5s", 0},
		{"0", 0},
		{"soon", 0},
		{"99999999999999999999999999999999999s", 0},
	}
	for _, tt := range tests {
		var h fasthttp.RequestHeader
		if tt.header != "" {
			h.Set(WaitHeader, tt.header)
		}
		if got := RequestedWait(&h, time.Minute); got != tt.want {
			t.Errorf("%s %q: wait %v, want %v", WaitHeader, tt.header, got, tt.want)
		}
	}
}

func TestHandles(t *testing.T) {
	for path, want := range map[string]bool{
		"/genesys/cometd": true, "/genesys/cometd/": true, "/genesys/cometd/handshake": true,
		"/genesys/cometdx": false, "/genesys/2/chat/x": false, "/": false,
	} {
		if got := Handles([]byte(path)); got != want {
			t.Errorf("Handles(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestPumpDone(t *testing.T) {
	var ctx fasthttp.RequestCtx
	if PumpDone(&ctx) != nil {
		t.Fatal("a request not made by a pump has a done channel")
	}
	done := make(chan struct{})
	ctx.SetUserValue(pumpDoneKey{}, (<-chan struct{})(done))
	if PumpDone(&ctx) == nil {
		t.Fatal("a pump's request has no done channel")
	}
}
