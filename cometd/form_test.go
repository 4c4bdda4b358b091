package cometd

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestBuildForm(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
		bad  bool
	}{
		{"strings and numbers", `{"operation":"sendMessage","message":"hi there","transcriptPosition":5,"flag":true}`,
			"flag=true&message=hi+there", false},
		{"userData object", `{"nickname":"Ann","userData":{"b":"2","a":1}}`, "nickname=Ann&userData%5Ba%5D=1&userData%5Bb%5D=2", false},
		{"eventAttributes object", `{"message":"x","eventAttributes":{"general-properties":{"related-event-id":"7"}}}`,
			"eventAttributes=%7B%22general-properties%22%3A%7B%22related-event-id%22%3A%227%22%7D%7D&message=x", false},
		{"eventAttributes string", `{"eventAttributes":"{\"purpose\":\"cancel-idle-timer\"}"}`,
			"eventAttributes=%7B%22purpose%22%3A%22cancel-idle-timer%22%7D", false},
		{"empty, null and objects left out", `{"alias":"","subject":null,"auth":{"encoded":"x"},"list":[1]}`, "", false},
		{"userData not an object", `{"userData":"x"}`, "", true},
		{"userData value an object", `{"userData":{"a":{"b":1}}}`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fields map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tt.data), &fields); err != nil {
				t.Fatal(err)
			}
			form, bad := buildForm(fields, "operation", "transcriptPosition")
			if tt.bad {
				if bad == nil || bad.statusCode != statusError {
					t.Fatalf("want an error answer, got %v", bad)
				}
				return
			}
			if bad != nil {
				t.Fatalf("error answer %s", bad.data(nil))
			}
			if got := form.String(); got != tt.want {
				t.Fatalf("form = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBucket(t *testing.T) {
	var b bucket
	now := time.Unix(1000, 0)
	for i := range 5 {
		if !b.take(now, 2, 5) {
			t.Fatalf("take %d of a full bucket of 5 refused", i)
		}
	}
	if b.take(now, 2, 5) {
		t.Fatal("a sixth take at once was allowed")
	}
	if !b.take(now.Add(500*time.Millisecond), 2, 5) {
		t.Fatal("a take after one token refilled was refused")
	}
	if b.take(now.Add(500*time.Millisecond), 2, 5) {
		t.Fatal("two takes after one token refilled were allowed")
	}
	for i := range 5 {
		if !b.take(now.Add(time.Hour), 2, 5) {
			t.Fatalf("take %d after an hour refused", i)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	rest := func(*fasthttp.RequestCtx) {}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"default", func(*Config) {}, ""},
		{"no REST", func(c *Config) { c.REST = nil }, "REST"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "Timeout"},
		{"idle below timeout", func(c *Config) { c.IdleTimeout = c.Timeout }, "IdleTimeout"},
		{"no queue", func(c *Config) { c.MaxQueue = 0 }, "MaxQueue"},
		{"tiny body", func(c *Config) { c.MaxBodySize = 10 }, "MaxBodySize"},
		{"no rate", func(c *Config) { c.PublishRate = 0 }, "PublishRate"},
		{"backoff order", func(c *Config) { c.MaxRetryBackoff = c.RetryBackoff / 2 }, "MaxRetryBackoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig(rest)
			tt.edit(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %s", err, tt.want)
			}
		})
	}
	if err := DefaultLocalConfig(rest).Validate(); err != nil {
		t.Fatalf("DefaultLocalConfig: %v", err)
	}
}
