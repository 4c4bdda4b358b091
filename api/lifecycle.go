package api

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/chat"
)

// Erasure is the answer of POST /v1/admin/erase/{chatId}: what was erased
// of one chat. It never holds the erased content.
type Erasure struct {
	// ChatID is the chat erased.
	ChatID string `json:"chatId"`
	// Node is the node that erased it.
	Node string `json:"node"`
	// EndedLive is true if the chat was live on that node and was ended
	// first (its participants are told it closed).
	EndedLive bool `json:"endedLive"`
	// Erased says what the store held and removed.
	Erased chat.Erased `json:"erased"`
}

// ErasureSummary is the answer of POST /v1/admin/erase?userData[KEY]=VALUE:
// every chat found under the key and value, and what was erased of each.
type ErasureSummary struct {
	// Key is the userData key asked for (the value is not repeated).
	Key string `json:"key"`
	// Chats are the chats erased; never null.
	Chats []Erasure `json:"chats"`
	// Failed says why each chat that could not be erased failed; try again.
	Failed map[string]string `json:"failed"`
}

// ChatList is the answer of GET /v1/admin/chats?userData[KEY]=VALUE: the
// chats the userData index holds under the key and value.
type ChatList struct {
	// ChatIDs are the chats' ids; never null.
	ChatIDs []string `json:"chatIds"`
}

// Selector picks chats by one userData key and value, for erasure.
type Selector struct {
	// Key is the userData key (1 to 128 bytes of UTF-8).
	Key string
	// Value is the value it must have (up to 4096 bytes of UTF-8, not empty).
	Value string
}

// Query returns the selector as a query string: userData%5BKEY%5D=VALUE.
func (s Selector) Query() string {
	return url.Values{"userData[" + s.Key + "]": {s.Value}}.Encode()
}

// CheckUserDataKey reports whether k can be a userData key of a selector:
// 1 to 128 bytes of UTF-8, without brackets.
func CheckUserDataKey(k string) error {
	switch {
	case k == "" || len(k) > maxUserDataKey || !utf8.ValidString(k):
		return BadRequest("the userData key must be 1 to %d bytes of UTF-8", maxUserDataKey)
	case strings.ContainsAny(k, "[]"):
		return BadRequest("the userData key must not contain [ or ]")
	}
	return nil
}

// Check reports whether the key and value are within the limits of userData.
func (s Selector) Check() error {
	if err := CheckUserDataKey(s.Key); err != nil {
		return err
	}
	switch {
	case s.Value == "" || len(s.Value) > maxUserDataVal || !utf8.ValidString(s.Value):
		return BadRequest("the userData value must be 1 to %d bytes of UTF-8", maxUserDataVal)
	}
	return nil
}

// ParseSelector reads the query string of an erasure by userData: exactly
// one userData[KEY]=VALUE argument, and nothing else.
func ParseSelector(query []byte) (Selector, error) {
	var args fasthttp.Args
	args.ParseBytes(query)
	if args.Len() != 1 {
		return Selector{}, BadRequest("give exactly one userData[KEY]=VALUE")
	}
	var sel Selector
	for k, v := range args.All() {
		name, ok := strings.CutPrefix(string(k), "userData[")
		if !ok || !strings.HasSuffix(name, "]") {
			return Selector{}, BadRequest("give exactly one userData[KEY]=VALUE, not %.40q", k)
		}
		sel = Selector{Key: strings.TrimSuffix(name, "]"), Value: string(v)}
	}
	return sel, sel.Check()
}

// ParseKeyValue reads KEY=VALUE, as chatha ctl takes a selector; the value
// may hold '=' (the first one splits).
func ParseKeyValue(s string) (Selector, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return Selector{}, fmt.Errorf("%.40q is not KEY=VALUE", s)
	}
	sel := Selector{Key: k, Value: v}
	if err := sel.Check(); err != nil {
		return Selector{}, err
	}
	return sel, nil
}

// Transcript returns the final transcript of a chat, as the store keeps it
// (JSON: chat.Transcript); an answer that is not one is an *Error.
func (c *Client) Transcript(ctx context.Context, chatID string) ([]byte, error) {
	path := "/v1/admin/transcripts/" + url.PathEscape(chatID)
	var out []byte
	err := c.do(ctx, fasthttp.MethodGet, path, nil, "", func(resp *fasthttp.Response) error {
		if resp.StatusCode() != fasthttp.StatusOK {
			return errorOf(fasthttp.MethodGet, path, resp)
		}
		out = append([]byte(nil), resp.Body()...)
		return nil
	})
	return out, err
}

// Erase erases one chat's data everywhere: a live chat is ended first.
func (c *Client) Erase(ctx context.Context, chatID string) (Erasure, error) {
	return call[Erasure](ctx, c, fasthttp.MethodPost, "/v1/admin/erase/"+url.PathEscape(chatID))
}

// EraseByUserData erases every chat the userData index holds under sel.
func (c *Client) EraseByUserData(ctx context.Context, sel Selector) (ErasureSummary, error) {
	return call[ErasureSummary](ctx, c, fasthttp.MethodPost, "/v1/admin/erase?"+sel.Query())
}

// ChatsByUserData lists the chats the userData index holds under sel.
func (c *Client) ChatsByUserData(ctx context.Context, sel Selector) (ChatList, error) {
	return call[ChatList](ctx, c, fasthttp.MethodGet, "/v1/admin/chats?"+sel.Query())
}

// ResponseError returns the error an answer that is not a success carries,
// or one that says its status.
func ResponseError(method, path string, resp *fasthttp.Response) *Error {
	return errorOf(method, path, resp)
}
