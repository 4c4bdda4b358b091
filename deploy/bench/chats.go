package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatha/chatha/api"
)

// service is the chat service every benchmark chat belongs to.
const service = "support"

// chatRef is a chat and the credentials of its customer.
type chatRef struct {
	ID   string `json:"chatId"`
	User string `json:"userId"`
	Key  string `json:"-"`
	Node string `json:"node"` // the node that served its last answer (alias)
}

// makeChats creates n chats through c with 16 workers, each with events
// transcript events: the customer joining, a first message, then sends.
func makeChats(ctx context.Context, c *api.Client, n, events int) ([]chatRef, error) {
	out := make([]chatRef, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range min(16, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				ref, err := makeChat(ctx, c, events)
				if err != nil {
					errs <- err
					return
				}
				out[i] = ref
			}
		}()
	}
	wg.Wait()
	close(errs)
	return out, <-errs
}

// makeChat creates one chat with events events (at least 2).
func makeChat(ctx context.Context, c *api.Client, events int) (chatRef, error) {
	r, err := acked(c.Create(ctx, service, &api.Request{Nickname: "Ann", Text: "hello, I have a question about my order"}))
	if err != nil {
		return chatRef{}, fmt.Errorf("cannot create a chat through %s: %w", c.Addr(), err)
	}
	ref := chatRef{ID: r.ChatID, User: r.UserID, Key: r.SecureKey, Node: r.Alias}
	for i := 2; i < events; i++ {
		req := &api.Request{UserID: ref.User, SecureKey: ref.Key, Message: "message number " + strconv.Itoa(i) + " of this chat"}
		r, err := acked(c.Act(ctx, service, ref.ID, "send", req))
		if err != nil {
			return ref, fmt.Errorf("cannot send to chat %s through %s: %w", ref.ID, c.Addr(), err)
		}
		ref.Node = r.Alias
	}
	return ref, nil
}

// acked turns an answer that acknowledged nothing into an error.
func acked(r *api.Reply, err error) (*api.Reply, error) {
	if err == nil && (r.Status != 200 || r.StatusCode != api.StatusOK) {
		err = fmt.Errorf("not acknowledged: HTTP %d, statusCode %d, %+v", r.Status, r.StatusCode, r.Errors)
	}
	return r, err
}

// transcript reads every event of a chat through c, page by page. A page
// that cannot be read is asked for again for up to 30 s: a front door may
// still be sending the chat to a dead node.
func transcript(ctx context.Context, c *api.Client, ref chatRef) ([]api.Reply, error) {
	var pages []api.Reply
	pos := 1
	for range 100000 {
		var r *api.Reply
		err := pollUntil(30*time.Second, 200*time.Millisecond, fmt.Sprintf("chat %s from %d to be read", ref.ID, pos), func() (bool, error) {
			var err error
			r, err = acked(c.Refresh(ctx, service, ref.ID, &api.Request{UserID: ref.User, SecureKey: ref.Key, TranscriptPosition: pos}))
			return err == nil, ctx.Err()
		})
		if err != nil {
			return pages, fmt.Errorf("cannot read chat %s from %d: %w", ref.ID, pos, err)
		}
		pages = append(pages, *r)
		if len(r.Messages) == 0 || r.NextPosition <= pos {
			return pages, nil
		}
		pos = r.NextPosition
	}
	return pages, fmt.Errorf("chat %s: too many pages", ref.ID)
}
