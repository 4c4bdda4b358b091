package api

// Health is the answer of GET /healthz.
type Health struct {
	// Status is "ok".
	Status string `json:"status"`
	// Name is the member's name.
	Name string `json:"name"`
	// Incarnation is a node's incarnation (proxies leave it out).
	Incarnation uint64 `json:"incarnation,omitempty"`
}

// Readiness is the answer of a node's GET /readyz (status 503 when not ready).
type Readiness struct {
	// Ready is true while the node can serve: its store is available.
	Ready bool `json:"ready"`
	// Name is the node's name.
	Name string `json:"name"`
	// Mode is active, draining or full.
	Mode string `json:"mode"`
}

// ProxyReadiness is the answer of a proxy's GET /readyz (status 503 when not ready).
type ProxyReadiness struct {
	// Ready is true while the proxy sees a live chat node.
	Ready bool `json:"ready"`
	// Nodes is how many live chat nodes the proxy sees.
	Nodes int `json:"nodes"`
}

// NodeState is the answer of POST /v1/admin/drain and /undrain.
type NodeState struct {
	// Name is the node's name.
	Name string `json:"name"`
	// Mode is active, draining or full.
	Mode string `json:"mode"`
	// Sessions is how many live chats the node holds.
	Sessions int `json:"sessions"`
}

// Purged is the answer of POST /v1/admin/purge/{chatId}.
type Purged struct {
	// ChatID is the chat asked about.
	ChatID string `json:"chatId"`
	// Purged is true if the node held the chat and dropped it.
	Purged bool `json:"purged"`
}

// KPI is a node's counters, as GET /v1/kpi returns them.
type KPI struct {
	// Node is the node's name (empty in sums).
	Node string `json:"node,omitempty"`
	// Mode is the node's mode (empty in sums).
	Mode            string `json:"mode,omitempty"`
	SessionCreated  uint64 `json:"session_created"`
	SessionClosed   uint64 `json:"session_closed"`
	SessionRestored uint64 `json:"session_restored"`
	SessionPurged   uint64 `json:"session_purged"`
	SessionsCurrent int    `json:"sessions_current"`
	// SessionsUnsaved counts the chats holding acknowledged events the
	// store has not taken yet (transcript-save-on-error=continue).
	SessionsUnsaved      int    `json:"sessions_unsaved"`
	MessagesAccepted     uint64 `json:"messages_accepted"`
	TranscriptSaveOK     uint64 `json:"transcript_save_ok"`
	TranscriptSaveFailed uint64 `json:"transcript_save_failed"`
}

// Add adds o's counters to k's.
func (k *KPI) Add(o KPI) {
	k.SessionCreated += o.SessionCreated
	k.SessionClosed += o.SessionClosed
	k.SessionRestored += o.SessionRestored
	k.SessionPurged += o.SessionPurged
	k.SessionsCurrent += o.SessionsCurrent
	k.SessionsUnsaved += o.SessionsUnsaved
	k.MessagesAccepted += o.MessagesAccepted
	k.TranscriptSaveOK += o.TranscriptSaveOK
	k.TranscriptSaveFailed += o.TranscriptSaveFailed
}

// KPISummary is the answer of a proxy's GET /v1/kpi.
type KPISummary struct {
	// Nodes holds each node's KPIs by name.
	Nodes map[string]KPI `json:"nodes"`
	// Total sums the counters of every node.
	Total KPI `json:"total"`
	// Unreachable says why each node that did not answer failed.
	Unreachable map[string]string `json:"unreachable"`
}

// QueueEntry is a chat waiting for an agent.
type QueueEntry struct {
	// ChatID is the chat's id.
	ChatID string `json:"chatId"`
	// Service is the chat's service.
	Service string `json:"service"`
	// Nickname is the creator's nickname.
	Nickname string `json:"nickname"`
	// Subject is the chat's subject.
	Subject string `json:"subject,omitempty"`
	// CreatedAt is when the chat was created, in Unix milliseconds.
	CreatedAt int64 `json:"createdAt"`
	// WaitSeconds is how long the chat has waited.
	WaitSeconds int64 `json:"waitingSeconds"`
	// Alias names the node that holds the chat.
	Alias string `json:"alias"`
}

// Queue is the answer of a node's GET /agent/1/queue: its chats with no agent, oldest first.
type Queue struct {
	// Chats are the waiting chats; never null.
	Chats []QueueEntry `json:"chats"`
}

// ClusterQueue is the answer of a proxy's GET /agent/1/queue: every node's queue merged.
type ClusterQueue struct {
	Queue
	// Unreachable says why each node that did not answer failed.
	Unreachable map[string]string `json:"unreachable"`
}

// Member is one member in the cluster API.
type Member struct {
	// Name is the member's name.
	Name string `json:"name"`
	// Role is node or proxy.
	Role string `json:"role"`
	// Address is the member's API address.
	Address string `json:"address"`
	// State is alive, suspect, dead or left.
	State string `json:"state"`
	// Mode is active, draining or full.
	Mode string `json:"mode"`
	// Sessions is how many live chats a node holds, as it gossips.
	Sessions int `json:"sessions"`
	// Incarnation tells a member's processes apart.
	Incarnation uint64 `json:"incarnation"`
	// Broken is true while the proxy routes around the node.
	Broken bool `json:"broken,omitempty"`
}

// ClusterView is the answer of GET /v1/cluster.
type ClusterView struct {
	// Proxy is the answering proxy's name.
	Proxy string `json:"proxy"`
	// Members are every member the proxy knows, departed ones too.
	Members []Member `json:"members"`
	// RingChecksum is a hash of the routing inputs: two proxies that agree on it route alike.
	RingChecksum string `json:"ringChecksum"`
}
