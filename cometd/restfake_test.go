package cometd_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/cometd"
)

// fakeREST is a small in-memory chat API v2 for the unit tests of the
// Bayeux layer: create, the per-chat actions, an agent join, and refresh that
// holds its answer for X-Chatha-Wait (when holds is set) until an event is
// appended, woken by the append.
type fakeREST struct {
	// holds makes refresh honour X-Chatha-Wait.
	holds bool
	// agentToken guards the agent join ("" leaves it open).
	agentToken string
	// refreshes counts refresh calls; failNext makes the next calls answer 503.
	refreshes, failNext atomic.Int64
	// auth records the Authorization header of every chat call, by action.
	auth sync.Map

	mu    sync.Mutex // guards chats and ids
	chats map[string]*fakeChat
	ids   int
}

type fakeChat struct {
	id     string
	events []chat.Message // events[i].Index == i+1
	parts  []*fakePart
	ended  bool
	// appended is closed and replaced on every append.
	appended chan struct{}
}

type fakePart struct {
	id             int
	userID, key    string
	nick, typ      string
	lastData       map[string]string
	lastAttributes string
}

func newFakeREST(holds bool) *fakeREST {
	return &fakeREST{holds: holds, chats: map[string]*fakeChat{}}
}

// Handler serves /genesys/2/chat/... and /agent/1/chat/{id}/join.
func (f *fakeREST) Handler(ctx *fasthttp.RequestCtx) {
	parts := strings.Split(strings.Trim(string(ctx.Path()), "/"), "/")
	var ans *api.Answer
	var err *api.Error
	switch {
	case len(parts) == 4 && parts[0] == "genesys" && parts[2] == "chat":
		f.auth.Store("create", string(ctx.Request.Header.Peek("Authorization")))
		ans, err = f.create(ctx.PostArgs())
	case len(parts) == 6 && parts[0] == "genesys" && parts[2] == "chat":
		ans, err = f.act(ctx, parts[4], parts[5])
	case len(parts) == 5 && parts[0] == "agent" && parts[4] == "join":
		if !api.Authorized(ctx, f.agentToken) {
			err = api.ErrUnauthorized
			break
		}
		ans, err = f.join(parts[3], string(ctx.PostArgs().Peek("nickname")))
	default:
		err = api.ErrNotFound
	}
	if err != nil {
		api.WriteError(ctx, "fake", err)
		return
	}
	api.WriteJSON(ctx, http.StatusOK, ans)
}

func (f *fakeREST) create(form *fasthttp.Args) (*api.Answer, *api.Error) {
	nick := string(form.Peek("nickname"))
	if nick == "" {
		return nil, api.Missing("nickname")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids++
	c := &fakeChat{id: fmt.Sprintf("chat%04d", f.ids), appended: make(chan struct{})}
	f.chats[c.id] = c
	p := c.add(nick, "Client", f.ids)
	if text := string(form.Peek("text")); text != "" {
		c.append(p, "Message", text)
	}
	a := c.answer(p, 1)
	a.SecureKey = p.key
	return a, nil
}

func (f *fakeREST) join(id, nick string) (*api.Answer, *api.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.chats[id]
	if c == nil {
		return nil, api.ErrUnknownChat
	}
	if nick == "" {
		nick = "Agent"
	}
	p := c.add(nick, "Agent", len(c.parts)+100)
	a := c.answer(p, 0)
	a.SecureKey = p.key
	return a, nil
}

// add joins a participant; f.mu is held.
func (c *fakeChat) add(nick, typ string, seed int) *fakePart {
	p := &fakePart{id: len(c.parts) + 1, userID: fmt.Sprintf("u%d-%d", seed, len(c.parts)+1),
		key: fmt.Sprintf("k%d-%d-secret", seed, len(c.parts)+1), nick: nick, typ: typ}
	c.parts = append(c.parts, p)
	c.append(p, "ParticipantJoined", "")
	return p
}

// append adds an event and wakes held refreshes; f.mu is held.
func (c *fakeChat) append(p *fakePart, typ, text string) {
	c.events = append(c.events, chat.Message{
		From:  chat.Author{Nickname: p.nick, ParticipantID: p.id, Type: p.typ},
		Index: len(c.events) + 1, Type: typ, Text: text, UTCTime: time.Now().UnixMilli(),
	})
	close(c.appended)
	c.appended = make(chan struct{})
}

// answer is the REST answer for p with the events from pos (none for 0); f.mu is held.
func (c *fakeChat) answer(p *fakePart, pos int) *api.Answer {
	a := &api.Answer{ChatID: c.id, UserID: p.userID, Alias: "fake", NextPosition: len(c.events) + 1, ChatEnded: c.ended, Messages: []chat.Message{}}
	if c.ended {
		a.StatusCode = api.StatusError
	}
	if pos > 0 && pos <= len(c.events) {
		a.Messages = append(a.Messages, c.events[pos-1:]...)
	}
	return a
}

// authenticate finds the participant by secureKey (and userId when given).
func (c *fakeChat) authenticate(userID, key string) *fakePart {
	for _, p := range c.parts {
		if p.key == key && (userID == "" || userID == p.userID) {
			return p
		}
	}
	return nil
}

func (f *fakeREST) act(ctx *fasthttp.RequestCtx, id, action string) (*api.Answer, *api.Error) {
	f.auth.Store(action, string(ctx.Request.Header.Peek("Authorization")))
	form := ctx.PostArgs()
	pos, _ := strconv.Atoi(string(form.Peek("transcriptPosition")))
	if action == "refresh" {
		f.refreshes.Add(1)
		if f.failNext.Load() > 0 {
			f.failNext.Add(-1)
			return nil, api.ErrNoNode
		}
		pos = max(pos, 1)
	}
	f.mu.Lock()
	c := f.chats[id]
	if c == nil {
		f.mu.Unlock()
		return nil, api.ErrUnknownChat
	}
	p := c.authenticate(string(form.Peek("userId")), string(form.Peek("secureKey")))
	if p == nil {
		f.mu.Unlock()
		return nil, api.ErrBadKey
	}
	if action == "refresh" && f.holds && !c.ended && pos > len(c.events) {
		if wait := cometd.RequestedWait(&ctx.Request.Header, time.Minute); wait > 0 {
			woken := c.appended
			f.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-woken:
			case <-t.C:
			case <-cometd.PumpDone(ctx):
			}
			t.Stop()
			f.mu.Lock()
		}
	}
	defer f.mu.Unlock()
	if action != "refresh" && c.ended {
		return nil, api.ErrEnded
	}
	if err := c.apply(p, action, form); err != nil {
		return nil, err
	}
	return c.answer(p, pos), nil
}

// apply carries out a writing action; f.mu is held.
func (c *fakeChat) apply(p *fakePart, action string, form *fasthttp.Args) *api.Error {
	msg := string(form.Peek("message"))
	switch action {
	case "refresh":
	case "send":
		if msg == "" {
			return api.Missing("message")
		}
		c.append(p, "Message", msg)
		p.lastAttributes = string(form.Peek("eventAttributes"))
	case "startTyping":
		c.append(p, "TypingStarted", msg)
	case "stopTyping":
		c.append(p, "TypingStopped", msg)
	case "customNotice":
		c.append(p, "CustomNotice", msg)
	case "pushUrl":
		c.append(p, "PushUrl", msg)
	case "updateNickname":
		p.nick = string(form.Peek("nickname"))
		c.append(p, "NicknameUpdated", p.nick)
	case "updateData":
		p.lastData = map[string]string{}
		for k, v := range form.All() {
			if name, ok := strings.CutPrefix(string(k), "userData["); ok {
				p.lastData[strings.TrimSuffix(name, "]")] = string(v)
			}
		}
	case "disconnect":
		c.append(p, "ParticipantLeft", "")
		if p.typ == "Client" {
			c.ended = true
		}
	default:
		return api.BadRequest("unknown action %q", action)
	}
	return nil
}

// agentSays makes the agent of chat id (joining it first if needed) send text.
func (f *fakeREST) agentSays(id, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.chats[id]
	var agent *fakePart
	for _, p := range c.parts {
		if p.typ == "Agent" {
			agent = p
		}
	}
	if agent == nil {
		agent = c.add("Jane", "Agent", 900)
	}
	c.append(agent, "Message", text)
}

// transcript returns the texts of a chat's events, by index.
func (f *fakeREST) events(id string) []chat.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chat.Message(nil), f.chats[id].events...)
}

// participant returns a chat's participant n (1-based).
func (f *fakeREST) participant(id string, n int) fakePart {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.chats[id].parts[n-1]
}

// jsonOf is a helper for test messages.
func jsonOf(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
