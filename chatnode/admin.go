package chatnode

import (
	"context"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// eraseTimeout bounds an erasure by userData, which erases chat after chat.
const eraseTimeout = 5 * time.Minute

// serveLifecycle handles the admin routes of final transcripts and erasure,
// the cluster token checked already; it reports whether parts named one:
//
//	GET  /v1/admin/transcripts/{chatId}         the final transcript
//	GET  /v1/admin/chats?userData[KEY]=VALUE    the chats the index holds
//	POST /v1/admin/erase/{chatId}               erase one chat
//	POST /v1/admin/erase?userData[KEY]=VALUE    erase the chats the index holds
func (n *Node) serveLifecycle(ctx *fasthttp.RequestCtx, parts []string) (bool, error) {
	switch {
	case len(parts) == 2 && parts[0] == "transcripts":
		return true, n.serveTranscript(ctx, parts[1])
	case len(parts) == 1 && parts[0] == "chats":
		return true, n.serveChats(ctx)
	case len(parts) == 2 && parts[0] == "erase":
		return true, n.serveErase(ctx, parts[1])
	case len(parts) == 1 && parts[0] == "erase":
		return true, n.serveEraseByUserData(ctx)
	}
	return false, nil
}

func (n *Node) serveTranscript(ctx *fasthttp.RequestCtx, id string) error {
	if !ctx.IsGet() {
		return api.MethodNotAllowed("GET")
	}
	c, cancel := context.WithTimeout(context.Background(), 2*n.cfg.StoreTimeout)
	defer cancel()
	data, err := n.FinalTranscript(c, id)
	if err != nil {
		return err
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(data)
	return nil
}

func (n *Node) serveChats(ctx *fasthttp.RequestCtx) error {
	if !ctx.IsGet() {
		return api.MethodNotAllowed("GET")
	}
	sel, err := api.ParseSelector(ctx.URI().QueryString())
	if err != nil {
		return err
	}
	return answer(ctx, 2*n.cfg.StoreTimeout, func(c context.Context) (api.ChatList, error) { return n.ChatsByUserData(c, sel) })
}

func (n *Node) serveErase(ctx *fasthttp.RequestCtx, id string) error {
	if !ctx.IsPost() {
		return api.MethodNotAllowed("POST")
	}
	return answer(ctx, 4*n.cfg.StoreTimeout, func(c context.Context) (api.Erasure, error) { return n.Erase(c, id) })
}

func (n *Node) serveEraseByUserData(ctx *fasthttp.RequestCtx) error {
	if !ctx.IsPost() {
		return api.MethodNotAllowed("POST")
	}
	sel, err := api.ParseSelector(ctx.URI().QueryString())
	if err != nil {
		return err
	}
	return answer(ctx, eraseTimeout, func(c context.Context) (api.ErasureSummary, error) { return n.EraseByUserData(c, sel) })
}

// answer runs fn with a context of timeout and writes what it returns as
// the JSON answer, unless it fails.
func answer[T any](ctx *fasthttp.RequestCtx, timeout time.Duration, fn func(context.Context) (T, error)) error {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	v, err := fn(c)
	if err != nil {
		return err
	}
	api.WriteJSON(ctx, http.StatusOK, v)
	return nil
}
