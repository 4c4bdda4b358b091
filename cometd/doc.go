// Package cometd is the Bayeux 1.0 (CometD) variant of the GMS Chat API v2:
// the server behind /genesys/cometd that GMS chat widgets and SDKs use to get
// chat events pushed to them, over long-polling or WebSocket.
//
// # Where a session lives
//
// A Bayeux session lives in the Server the client connects to: a proxy, or a
// node when clients reach nodes directly. The Bayeux layer holds no chat
// state. It translates each chat operation published on
// /service/chatV2/{service} into a call of the REST Chat API v2 on the
// fasthttp.RequestHandler in Config.REST, in process: a node gives its own
// handler, a proxy its forwarding handler, which routes by chat id and fails
// over to a successor node that restores the chat. The same package serves
// both.
//
// # How push works
//
// Each chat a session is attached to (by requestChat, or requestNotifications
// to resume) has a pump: one goroutine that calls the REST refresh of the chat
// with the participant's credentials and transcriptPosition = the last
// delivered index + 1, with the header X-Chatha-Wait asking the node to hold
// the answer until an event at or past that position is appended (or the wait
// ends). What the answer brings is queued for the session as a notification
// on the chat's service channel, REST-shaped: the REST answer is the data.
// Every answer for a chat, the pump's and the operations', goes through the
// attachment's high-water mark, so each transcript index reaches the client
// once and in order. A REST side that does not hold refreshes is called at
// most once per MinRefreshInterval while nothing comes; an answer that says
// retry (statusCode 1, or a 5xx) is retried with a growing pause. The pump
// stops when the chat ends or answers an error, after delivering it.
//
// The client takes its queue with /meta/connect: a connect with nothing
// queued is held up to Timeout (the first one after a handshake is answered
// at once); deliveries also go with any other reply but a handshake's. On a
// WebSocket a held connect does not block the socket's reader: deliveries
// are written as they are queued, and the connect is answered when its
// timeout passes.
//
// # What the REST side provides
//
// Config.REST serves the chat API v2 (create, the per-chat actions, the
// file routes). For push it honours WaitHeader on refresh: a chat node holds
// the answer until an event at or past transcriptPosition is appended (woken
// by the append, not by polling) or the wait runs out, then answers as
// usual, and ends the hold early when PumpDone's channel closes; the proxy's
// forwarding handler passes the header on and gives such a request the
// wait on top of its own timeout, so that a held refresh is not taken for a
// dead node. A REST side that does not hold refreshes still works: the pump
// then polls at MinRefreshInterval.
//
// # File operations
//
// GMS clients in CometD mode send file operations over plain HTTP to
// api.ChatNtfPath, naming the chat by the participant's secureKey alone.
// FilesHandler finds the chat among those this server's sessions are
// attached to (or by a chatId field) and calls the chat API's file route of
// that chat, so files work as in REST mode. Behind several proxies, a
// client's requests must reach the proxy that holds its session (as
// long-polling needs anyway): a load balancer that keeps a client on one
// proxy.
//
// # Mounting
//
// chatnode.Node and proxy.Proxy each run a Server and send Path and
// api.ChatNtfPath to it; their Config.CometD tunes it.
//
// # Failover, as the client sees it
//
// A node that dies behind a proxy costs a pump a retry: the proxy sends the
// next refresh to the successor, which restores the chat; positions stay
// valid, so the stream goes on from the same index. The client sees nothing.
// A server that dies (or restarts, or expires the session) loses its
// sessions: the client's next message is answered 402::Unknown client with
// advice to handshake again; the client does, and publishes
// requestNotifications with its chatId, userId, secureKey and the position
// after the last event it had. Events it already had are not sent again, and
// none is lost. Notifications written to a connection that broke are lost
// with it; the client resumes from its own position as above.
//
// # Limits
//
// Bodies and WebSocket messages are bounded (MaxBodySize, MaxBatch), and so
// are publishes per session (PublishRate, PublishBurst), chats per session
// (MaxChats) and sessions (MaxSessions); what is over a limit is refused
// with a Bayeux error. A session's queue is bounded (MaxQueue,
// MaxQueueBytes): a client that does not take its messages is dropped, and
// handshakes again and resumes by position. A session with no held connect
// expires MaxInterval after its last connect ended. Requests from an Origin
// that is not allowed get no CORS headers and make no session; a WebSocket
// upgrade from one is refused: the decision is the chat API's CORS policy
// (Config.CORS, api.CORS.Allows). Credentials (secure keys, the bearer token
// of an agent) are passed through to the REST side, never logged.
//
// # Memory
//
// An idle client costs its session (a few hundred bytes), the HTTP server's
// connection (fasthttp's buffers: about 14 KiB of heap by default, 4 KiB with
// ReduceMemoryUsage) and one parked goroutine (8 KiB of stack); an attached
// chat adds its pump (a goroutine and a REST request held by the node).
// BenchmarkIdleClients measures it.
//
// # Goroutines
//
// One sweeper per Server (expiry); one pump per attached chat, blocked in
// the REST refresh; one reader per WebSocket (fasthttp's hijack goroutine).
// A held long-polling connect parks the fasthttp handler goroutine of its
// request. Close answers held connects, closes sockets, stops pumps and
// waits for them.
package cometd
