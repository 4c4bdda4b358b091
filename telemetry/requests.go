package telemetry

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// LatencyBuckets are the upper bounds, in seconds, of the request latency
// histograms: from half a millisecond (a refresh in memory) to ten seconds
// (a store timing out), about three per decade.
var LatencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// statuses are the HTTP statuses chatha answers with; any other counts as
// "other".
var statuses = [...]int{200, 400, 401, 403, 404, 405, 408, 409, 410, 413, 431, 500, 502, 503}

const numStatuses = len(statuses) + 1 // the last one is "other"

// statusIndex returns the index of code in statuses, or numStatuses-1.
func statusIndex(code int) int {
	for i, s := range statuses {
		if s == code {
			return i
		}
	}
	return numStatuses - 1
}

func statusLabel(i int) string {
	if i < len(statuses) {
		return strconv.Itoa(statuses[i])
	}
	return "other"
}

// Requests counts the HTTP requests a server answered, by route and
// status ({prefix}_requests_total), and times them by route
// ({prefix}_request_duration_seconds). Each series is created once, either
// up front by NewRequests or the first time its route and status occur;
// Observe allocates nothing after that.
type Requests struct {
	set       *metrics.Set
	prefix    string
	counts    [numRoutes][numStatuses]atomic.Pointer[metrics.Counter]
	durations [numRoutes]atomic.Pointer[metrics.PrometheusHistogram]
}

// NewRequests returns the request metrics of a server in set, named
// prefix+"_requests_total" and prefix+"_request_duration_seconds", with
// the series of every route in routes (status 200) created up front.
func NewRequests(set *metrics.Set, prefix string, routes []Route) *Requests {
	r := &Requests{set: set, prefix: prefix}
	for _, route := range routes {
		r.counter(route, 0)
		r.histogram(route)
	}
	return r
}

// Observe records a request of route answered with status after d.
func (r *Requests) Observe(route Route, status int, d time.Duration) {
	if route >= numRoutes {
		route = RouteOther
	}
	r.counter(route, statusIndex(status)).Inc()
	r.histogram(route).Update(d.Seconds())
}

// counter returns the counter of route and status index si, creating it once.
func (r *Requests) counter(route Route, si int) *metrics.Counter {
	cell := &r.counts[route][si]
	if c := cell.Load(); c != nil {
		return c
	}
	name := r.prefix + `_requests_total{route="` + route.String() + `",status="` + statusLabel(si) + `"}`
	c := r.set.GetOrCreateCounter(name) // concurrent first uses get the same counter
	cell.Store(c)
	return c
}

func (r *Requests) histogram(route Route) *metrics.PrometheusHistogram {
	cell := &r.durations[route]
	if h := cell.Load(); h != nil {
		return h
	}
	name := r.prefix + `_request_duration_seconds{route="` + route.String() + `"}`
	h := r.set.GetOrCreatePrometheusHistogramExt(name, LatencyBuckets)
	cell.Store(h)
	return h
}

// Totals returns how many requests were answered, and how many of them
// with a 5xx status (the server's errors), over every route.
func (r *Requests) Totals() (all, serverErrors uint64) {
	for route := range r.counts {
		for si := range r.counts[route] {
			c := r.counts[route][si].Load()
			if c == nil {
				continue
			}
			n := c.Get()
			all += n
			if si < len(statuses) && statuses[si] >= 500 {
				serverErrors += n
			}
		}
	}
	return all, serverErrors
}
