package proxy

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"iter"
	"math/rand/v2"
	"strings"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chatid"
	"github.com/chatha/chatha/cometd"
	"github.com/chatha/chatha/proxy/ring"
)

// hopHeaders are dropped when forwarding, as net/http/httputil does.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// Schemes of the requests sent to nodes.
var (
	schemeHTTP  = []byte("http")
	schemeHTTPS = []byte("https")
)

// tried lists the nodes a request was already sent to.
type tried struct {
	names [8]string
	n     int
}

func (t *tried) add(name string) {
	if t.n < len(t.names) {
		t.names[t.n] = name
		t.n++
	}
}

func (t *tried) has(name string) bool {
	for _, n := range t.names[:t.n] {
		if n == name {
			return true
		}
	}
	return false
}

// target is what a request is routed by: a new chat (placement by request
// id) or an existing one (its chat id).
type target struct {
	create bool
	chatID string
}

// forward sends the request to the node that serves it, failing over to the
// successor on a failed connection (connFailed) or a node that no longer
// holds the chat (409 moved, api.Moved). The response is the node's, with
// X-Chatha-Node set; an answer the proxy cannot pass on is a 502 of this
// request alone.
func (p *Proxy) forward(ctx *fasthttp.RequestCtx, to target) {
	p.requests.Inc()
	reqID := ensureRequestID(&ctx.Request)
	clientClose := prepare(ctx, p.scheme)
	wait := cometd.RequestedWait(&ctx.Request.Header, p.cfg.MaxWait)
	var tr tried
	for attempt := 0; attempt < p.cfg.Attempts; attempt++ {
		now := time.Now()
		b := p.next(to, reqID, &tr, now)
		if b == nil {
			break
		}
		if attempt > 0 {
			p.retries.Inc()
		}
		p.ops.forwarded(b.name)
		if len(ctx.Request.Host()) == 0 { // an HTTP/1.0 client
			ctx.Request.URI().SetHost(b.addr)
		}
		sent := time.Now()
		err := p.send(ctx, b, &wait)
		if to.create && (err != nil || ctx.Response.StatusCode() != fasthttp.StatusOK) {
			b.placed.remove(now)
		}
		if err != nil {
			if errors.Is(err, fasthttp.ErrNoFreeConns) {
				p.busy(ctx, b, clientClose)
				return
			}
			if !connFailed(err) {
				p.badAnswer(ctx, b, err, clientClose)
				return
			}
			if p.slowButAlive(b, err, sent) {
				p.slow(ctx, b, clientClose)
				return
			}
			p.markBroken(b, err)
			tr.add(b.name)
			p.failovers.Inc()
			continue
		}
		if attempt+1 < p.cfg.Attempts && retryable(to, &ctx.Response) {
			if to.create {
				tr.add(b.name)
			}
			continue
		}
		finish(ctx, b.name, clientClose)
		return
	}
	p.noNode.Inc()
	ctx.Response.Reset()
	api.WriteError(ctx, "", api.ErrNoNode)
}

// send sends the request to b and reads its answer within RequestTimeout.
// A refresh held for push (*wait > 0) goes on b's held connections, given
// its wait on top, so that a node holding it is not taken for a dead one;
// when they are all taken (MaxHeldConns), it goes without its wait header
// on the others, and *wait becomes 0 for this attempt and the next ones.
func (p *Proxy) send(ctx *fasthttp.RequestCtx, b *backend, wait *time.Duration) error {
	if *wait > 0 {
		err := b.held.DoTimeout(&ctx.Request, &ctx.Response, p.cfg.RequestTimeout+*wait)
		if !errors.Is(err, fasthttp.ErrNoFreeConns) {
			return err
		}
		ctx.Request.Header.Del(cometd.WaitHeader)
		*wait = 0
		p.unheld.Inc()
	}
	return b.client.DoTimeout(&ctx.Request, &ctx.Response, p.cfg.RequestTimeout)
}

// slowButAlive reports whether err, a request to b sent at sent, timed out
// on a node that answered a probe since: the node lives and serves, and the
// request is slow there (its store is, most often). Sent to another node, it
// would restore the chat there and take it from a live owner, which, under
// transcript-save-on-error=continue, loses what the owner acknowledged and
// has not stored yet; and the other node would wait on the same store.
// Without probes a timeout is taken for a failure, as before.
func (p *Proxy) slowButAlive(b *backend, err error, sent time.Time) bool {
	return errors.Is(err, fasthttp.ErrTimeout) && p.cfg.ProbeInterval > 0 && b.answered.Load() > sent.UnixNano()
}

// slow answers a request that timed out on a node that is alive (slowButAlive):
// 503, statusCode 1 (api.Slow). The node is not marked and the request goes
// nowhere else; the client's retry, with the same request id, finds the
// node's answer to it if it was carried out meanwhile.
func (p *Proxy) slow(ctx *fasthttp.RequestCtx, b *backend, clientClose bool) {
	p.slowAnswers.Inc()
	p.log.Warn("a node is slow to answer; the client is told to retry", "node", b.name, "timeout", p.cfg.RequestTimeout)
	ctx.Response.Reset()
	api.WriteError(ctx, "", api.Slow(b.name, p.cfg.RequestTimeout))
	finish(ctx, b.name, clientClose)
}

// busy answers a request that was not sent to b because MaxConns of the
// proxy's requests are under way there: 503, statusCode 1 (api.Busy).
// Neither the node nor the request failed, so the node is not marked and the
// request goes nowhere else (another node would restore the chat there).
func (p *Proxy) busy(ctx *fasthttp.RequestCtx, b *backend, clientClose bool) {
	p.busyAnswers.Inc()
	ctx.Response.Reset()
	api.WriteError(ctx, "", api.Busy(b.name, p.cfg.MaxConns))
	finish(ctx, b.name, clientClose)
}

// retryable: a node without the chat any more (409 with api.HeaderMoved) is
// asked again, and then restores it; a node that takes no new chats (503 on
// create) is skipped. Any other 409 (a request id reused with other content,
// a create under another create secret, a participant that cannot act) is
// the answer, and the client gets it at once.
func retryable(to target, resp *fasthttp.Response) bool {
	if to.create {
		return resp.StatusCode() == fasthttp.StatusServiceUnavailable
	}
	return api.Moved(resp)
}

// next returns the node for the request's next attempt at now, or nil. A
// new chat is counted on its node before it is sent, and the choice and the
// count are made under placing, so concurrent creates see each other.
func (p *Proxy) next(to target, reqID string, tr *tried, now time.Time) *backend {
	if !to.create {
		return p.pick(to, reqID, tr, now)
	}
	p.placing.Lock()
	defer p.placing.Unlock()
	b := p.pick(to, reqID, tr, now)
	if b != nil {
		b.placed.add(now)
	}
	return b
}

// pick returns the node for the request's next attempt at now, or nil.
// Nodes this request already tried are out; nodes marked broken are
// avoided, but tried when nothing else is left, since the mark may be stale.
func (p *Proxy) pick(to target, reqID string, tr *tried, now time.Time) *backend {
	t := p.table.Load()
	avoid := func(name string) bool { return tr.has(name) || p.isBroken(t, name, now) }
	if b := p.pickAmong(t, to, reqID, avoid, now); b != nil {
		return b
	}
	return p.pickAmong(t, to, reqID, tr.has, now)
}

// pickAmong returns the node for the request among the nodes avoid does
// not exclude, or nil. A new chat is placed by the nodes' gossiped session
// counts plus the chats this proxy placed since (table.loads).
func (p *Proxy) pickAmong(t *table, to target, reqID string, avoid func(string) bool, now time.Time) *backend {
	if to.create {
		var buf [32]ring.Node
		name, ok := ring.Place(reqID, t.loads(now, avoid, buf[:0]), p.cfg.Placement)
		if !ok {
			return nil
		}
		return t.byName[name]
	}
	tag, err := chatid.Parse(to.chatID)
	if err != nil {
		// The node answers a malformed id with a clear 404; any node will do.
		tag = 0
	}
	home, _ := t.homes.Lookup(tag)
	name, _, ok := ring.Route(to.chatID, home, t.heirs.Of(home.ID()), t.alive, avoid)
	if !ok || avoid(name) {
		return nil
	}
	return t.byName[name]
}

// ensureRequestID returns the request's X-Request-Id, adding a random one when missing.
func ensureRequestID(req *fasthttp.Request) string {
	if id := req.Header.Peek("X-Request-Id"); len(id) > 0 {
		return b2s(id)
	}
	var raw [16]byte
	var buf [32]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], rand.Uint64())
	hex.Encode(buf[:], raw[:])
	req.Header.SetBytesV("X-Request-Id", buf[:])
	return b2s(req.Header.Peek("X-Request-Id"))
}

// isHop reports whether k names a hop-by-hop header.
func isHop(k []byte) bool {
	switch len(k) {
	case 2, 7, 10, 16, 17, 18, 19: // the lengths of the hopHeaders names
	default:
		return false
	}
	for _, h := range hopHeaders {
		if strings.EqualFold(b2s(k), h) {
			return true
		}
	}
	return false
}

// hasHop reports whether any header of all is hop-by-hop; one pass over the
// headers is cheaper than a Del per name when, as almost always, none is.
func hasHop(all iter.Seq2[[]byte, []byte]) bool {
	for k := range all {
		if isHop(k) {
			return true
		}
	}
	return false
}

// prepare strips hop-by-hop headers, so the connection to the node stays
// open whatever the client asked of its own, and appends the client to
// X-Forwarded-For. It reports whether the client asked to close its connection.
func prepare(ctx *fasthttp.RequestCtx, scheme []byte) (clientClose bool) {
	// The client's TLS ends here: nodes are called with the proxy's own
	// scheme, which the node clients insist on.
	ctx.Request.URI().SetSchemeBytes(scheme)
	h := &ctx.Request.Header
	clientClose = h.ConnectionClose()
	if hasHop(h.All()) {
		for _, name := range hopHeaders {
			h.Del(name)
		}
		h.ResetConnectionClose()
	}
	var buf [64]byte
	out := buf[:0]
	if prior := h.Peek("X-Forwarded-For"); len(prior) > 0 {
		out = append(append(out, prior...), ", "...)
	}
	out, _ = ctx.RemoteIP().AppendText(out)
	h.SetBytesV("X-Forwarded-For", out)
	return clientClose
}

// finish strips hop-by-hop headers of the node's response, keeps the client's
// connection as the client asked, and names the node.
func finish(ctx *fasthttp.RequestCtx, node string, clientClose bool) {
	h := &ctx.Response.Header
	if hasHop(h.All()) {
		for _, name := range hopHeaders {
			h.Del(name)
		}
		h.ResetConnectionClose()
	}
	if clientClose {
		h.SetConnectionClose()
	}
	h.Set("X-Chatha-Node", node)
}

// b2s views b as a string without copying; the string must not outlive the request.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
