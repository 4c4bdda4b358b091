package api

import (
	"context"

	"github.com/valyala/fasthttp"
)

// Dashboard is the answer of a proxy's GET /v1/dashboard: what its live
// health dashboard shows.
type Dashboard struct {
	// Proxy is the answering proxy's name.
	Proxy string `json:"proxy"`
	// Now is the proxy's clock, in Unix milliseconds.
	Now int64 `json:"now"`
	// RingChecksum is the checksum of the proxy's routing view (as in ClusterView).
	RingChecksum string `json:"ringChecksum"`
	// SampleSeconds is the time between two History samples.
	SampleSeconds float64 `json:"sampleSeconds"`
	// Members are every member the proxy knows, departed ones too.
	Members []DashboardMember `json:"members"`
	// Events are the proxy's recent membership and failover events, oldest first.
	Events []DashboardEvent `json:"events"`
	// History holds the samples of the last 15 minutes, oldest first.
	History []DashboardSample `json:"history"`
}

// DashboardMember is a member with its share of the ring and its gossip health.
type DashboardMember struct {
	Member
	// StartedAt is when the member's process started, in Unix milliseconds
	// (its incarnation).
	StartedAt int64 `json:"startedAt"`
	// PlacementShare is the share of new chats the node would get now,
	// from 0 to 1, by the proxy's placement over its view.
	PlacementShare float64 `json:"placementShare"`
	// SuccessorShare is the share of the chat-id space the node is the
	// successor for (the node that takes a chat whose home is gone).
	SuccessorShare float64 `json:"successorShare"`
	// HealthScore is the member's own Lifeguard health score (0 is healthy).
	HealthScore int `json:"healthScore"`
	// Refutations is how often the member refuted a suspicion of itself.
	Refutations int `json:"refutations"`
	// ProbeRTTMicros is the mean round trip of the member's own probes of
	// the others, in microseconds (0: not reported).
	ProbeRTTMicros int64 `json:"probeRttMicros"`
	// RTTFromProxyMicros is the round trip of the proxy's probes of the
	// member, in microseconds (0: not probed lately).
	RTTFromProxyMicros int64 `json:"rttFromProxyMicros"`
	// Suspicions is how often the proxy saw the member suspect.
	Suspicions int `json:"suspicions"`
}

// DashboardEvent is one event of the dashboard's timeline.
type DashboardEvent struct {
	// At is when the proxy saw it, in Unix milliseconds.
	At int64 `json:"at"`
	// Kind is join, suspect, alive, refute, dead, left, drain, undrain,
	// full, restore or failover.
	Kind string `json:"kind"`
	// Member is the member's name.
	Member string `json:"member"`
	// Role is node or proxy.
	Role string `json:"role,omitempty"`
	// Detail says more, in words.
	Detail string `json:"detail,omitempty"`
}

// DashboardSample counts what happened in one sample interval.
type DashboardSample struct {
	// At is the end of the interval, in Unix milliseconds.
	At int64 `json:"at"`
	// Requests is how many chat and agent requests the proxy forwarded.
	Requests uint64 `json:"requests"`
	// Errors is how many requests the proxy answered with a 5xx status.
	Errors uint64 `json:"errors"`
	// Failovers is how many forwarded requests went to another node after a failed connection.
	Failovers uint64 `json:"failovers"`
	// Retries is how many forwarded requests were sent again.
	Retries uint64 `json:"retries"`
	// Restores is how many chats the nodes restored from the store.
	Restores uint64 `json:"restores"`
	// Purges is how many chats the nodes purged after a restore elsewhere.
	Purges uint64 `json:"purges"`
}

// Dashboard returns what a proxy's live dashboard shows.
func (c *Client) Dashboard(ctx context.Context) (Dashboard, error) {
	return call[Dashboard](ctx, c, fasthttp.MethodGet, "/v1/dashboard")
}
