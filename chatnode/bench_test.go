package chatnode_test

import (
	"net/url"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/chatnode"
)

// benchRequest is a reusable request to one chat action.
type benchRequest struct {
	ctx  fasthttp.RequestCtx
	path string
	body []byte
}

func newBenchRequest(c handle, action string, form url.Values) *benchRequest {
	form.Set("userId", c.user)
	form.Set("secureKey", c.key)
	return &benchRequest{path: "/genesys/2/chat/support/" + c.id + "/" + action, body: []byte(form.Encode())}
}

func (r *benchRequest) run(b *testing.B, n *chatnode.Node) {
	r.ctx.Request.Reset()
	r.ctx.Response.Reset()
	r.ctx.Request.Header.SetMethod("POST")
	r.ctx.Request.SetRequestURI(r.path)
	r.ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
	r.ctx.Request.SetBody(r.body)
	n.Handler(&r.ctx)
	if r.ctx.Response.StatusCode() != 200 {
		b.Fatalf("%s: %d %s", r.path, r.ctx.Response.StatusCode(), r.ctx.Response.Body())
	}
}

// BenchmarkSend is one client sending message after message, each durable
// (synchronous=FULL) before it is acknowledged.
func BenchmarkSend(b *testing.B) {
	n := newNode(b, "a", tempStore(b))
	c, _ := createChat(b, n, url.Values{"nickname": {"Ann"}})
	req := newBenchRequest(c, "send", url.Values{"message": {"hello, I have a question about my order"}})
	b.ReportAllocs()
	for b.Loop() {
		req.run(b, n)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkSendParallel100 is 100 chats sending at once: the store groups
// their appends into shared commits.
func BenchmarkSendParallel100(b *testing.B) {
	n := newNode(b, "a", tempStore(b), func(c *chatnode.Config) { c.Settings.LimitForSessions = 1000 })
	const chats = 100
	reqs := make(chan *benchRequest, chats)
	for range chats {
		c, _ := createChat(b, n, url.Values{"nickname": {"Ann"}})
		reqs <- newBenchRequest(c, "send", url.Values{"message": {"hello, I have a question about my order"}})
	}
	b.SetParallelism((chats + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		req := <-reqs
		for pb.Next() {
			req.run(b, n)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkRefresh reads a 10-event transcript from position 1.
func BenchmarkRefresh(b *testing.B) {
	n := newNode(b, "a", tempStore(b))
	c, _ := createChat(b, n, url.Values{"nickname": {"Ann"}})
	for i := range 9 {
		c.send(b, n, "message "+strconv.Itoa(i))
	}
	req := newBenchRequest(c, "refresh", url.Values{"transcriptPosition": {"1"}})
	b.ReportAllocs()
	for b.Loop() {
		req.run(b, n)
	}
}

// BenchmarkIdleChatsHeap holds 10-event chats in memory and reports the heap
// each one costs.
func BenchmarkIdleChatsHeap(b *testing.B) {
	n := newNode(b, "a", tempStore(b), func(c *chatnode.Config) { c.Settings.LimitForSessions = 1 << 20 })
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var count atomic.Int64
	for b.Loop() {
		c, _ := createChat(b, n, url.Values{"nickname": {"Ann"}, "text": {"hello, I have a question about my order"}})
		for i := range 8 {
			c.send(b, n, "message number "+strconv.Itoa(i))
		}
		count.Add(1)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(count.Load()), "heapB/chat")
}
