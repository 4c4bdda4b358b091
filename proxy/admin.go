package proxy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// The proxy serves the nodes' admin routes of final transcripts and erasure
// at the same paths, with the cluster token:
//
//	GET  /v1/admin/transcripts/{chatId}       from the node that serves the chat
//	POST /v1/admin/erase/{chatId}             on the node that serves the chat
//	GET  /v1/admin/chats?userData[KEY]=VALUE  from any node (the store's index)
//	POST /v1/admin/erase?userData[KEY]=VALUE  each chat found, on the node that serves it
//
// A chat's requests go where its chat requests go (home, else successor),
// through the forwarding path and its failover, so a live chat is erased,
// and ended, on the node that holds it.

// maxEraseRounds bounds how often an erasure by userData asks the index
// again for chats it has not erased yet.
const maxEraseRounds = 20

// serveAdmin handles /v1/admin/....
func (p *Proxy) serveAdmin(ctx *fasthttp.RequestCtx, rest string) {
	if !api.Authorized(ctx, p.cfg.ClusterToken) {
		api.WriteError(ctx, "", api.ErrUnauthorized)
		return
	}
	kind, id, _ := strings.Cut(rest, "/")
	method := string(ctx.Method())
	switch {
	case strings.Contains(id, "/"):
	case kind == "transcripts" && id != "" && method == fasthttp.MethodGet,
		kind == "erase" && id != "" && method == fasthttp.MethodPost:
		p.relay(ctx, id)
		return
	case kind == "chats" && id == "" && method == fasthttp.MethodGet:
		p.relay(ctx, "")
		return
	case kind == "erase" && id == "" && method == fasthttp.MethodPost:
		p.eraseByUserData(ctx)
		return
	case kind == "transcripts" || kind == "chats":
		api.WriteError(ctx, "", api.MethodNotAllowed("GET"))
		return
	case kind == "erase":
		api.WriteError(ctx, "", api.MethodNotAllowed("POST"))
		return
	}
	api.WriteError(ctx, "", api.NotFound("no such endpoint",
		"GET /v1/admin/transcripts/{chatId}, POST /v1/admin/erase/{chatId}, GET /v1/admin/chats or POST /v1/admin/erase with userData[KEY]=VALUE"))
}

// relay forwards an admin request to the node that serves chatID (any node
// for ""), with the proxy's own cluster token.
func (p *Proxy) relay(ctx *fasthttp.RequestCtx, chatID string) {
	if p.cfg.ClusterToken != "" {
		ctx.Request.Header.Set("Authorization", "Bearer "+p.cfg.ClusterToken)
	}
	p.forward(ctx, target{chatID: chatID})
}

// eraseByUserData lists the chats the index holds under the selector and
// erases each on the node that serves it, until the index holds none it
// has not tried, and answers what it erased.
func (p *Proxy) eraseByUserData(ctx *fasthttp.RequestCtx) {
	query := string(ctx.URI().QueryString())
	sel, err := api.ParseSelector([]byte(query))
	if err != nil {
		api.WriteError(ctx, "", err)
		return
	}
	sum := api.ErasureSummary{Key: sel.Key, Chats: []api.Erasure{}, Failed: map[string]string{}}
	tried := map[string]bool{}
	for round := 0; round < maxEraseRounds; round++ {
		var list api.ChatList
		if err := p.call(fasthttp.MethodGet, "/v1/admin/chats?"+query, "", &list); err != nil {
			if round == 0 {
				api.WriteError(ctx, "", err)
				return
			}
			break
		}
		progress := false
		for _, id := range list.ChatIDs {
			if tried[id] {
				continue
			}
			tried[id], progress = true, true
			var e api.Erasure
			if err := p.call(fasthttp.MethodPost, "/v1/admin/erase/"+url.PathEscape(id), id, &e); err != nil {
				sum.Failed[id] = err.Error()
				continue
			}
			sum.Chats = append(sum.Chats, e)
		}
		if !progress {
			break
		}
	}
	p.log.Info("chats erased by userData", "key", sel.Key, "chats", len(sum.Chats), "failed", len(sum.Failed))
	api.WriteJSON(ctx, http.StatusOK, sum)
}

// call sends an admin request to the node that serves chatID through the
// forwarding path (routing, failover), with the proxy's cluster token, and
// decodes its 200 answer into out; any other answer is an *api.Error.
func (p *Proxy) call(method, uri, chatID string, out any) error {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	var rc fasthttp.RequestCtx
	rc.Init(&req, nil, nil)
	p.relay(&rc, chatID)
	if rc.Response.StatusCode() != fasthttp.StatusOK {
		return api.ResponseError(method, uri, &rc.Response)
	}
	if err := json.Unmarshal(rc.Response.Body(), out); err != nil {
		return fmt.Errorf("%s %s: cannot decode the answer: %w", method, uri, err)
	}
	return nil
}
