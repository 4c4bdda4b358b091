// Package chatnode is the chat node: it holds chats (chat.Session) in memory,
// serves the chat HTTP API (GMS Chat API v2 shape, file transfer and CORS
// included) on fasthttp, and applies the HA options: every change appended to
// the store before it is acknowledged, restore from storage, purge, the KPI
// counters.
//
// Invariants:
//   - Every change to a live chat is an event appended to the store before it is
//     acknowledged (transcript-auto-save=1), with a conditional append at the next
//     sequence number: the append is the only write to a live chat, so a node
//     whose append finds its sequence number taken has lost the chat to another
//     node; it drops the chat and answers "retry" (statusCode 1).
//   - A node asked about a chat it does not hold restores it from the store by
//     replaying its events (session-restoration-mode=simple), but only for a
//     request whose credentials the stored participants accept: it loads and
//     replays the chat read-only, checks them, and only then appends the restore
//     notices, holds the chat and purges the previous owner. Every way into a
//     chat (withSession) takes a check of the credentials (authFunc), so a
//     refused request leaves no trace in the store or in memory.
//   - Every request id of a chat's stored changes is remembered for the chat's
//     life, with a fingerprint of what it asked, and comes back with a restore:
//     a retry is answered from what is stored, and the id reused for another
//     request is refused (409). A create is idempotent by its request id on any
//     node: its id is claimed in the store and the creator's key derived from
//     it under the cluster's create secret (create.go).
//   - limit-for-sessions holds under concurrent creates: each takes a slot
//     before it writes, and gives it back if it fails.
//   - Every event a client sees, typing notices included, is a record of the chat's
//     log at the next transcript index, so indexes are dense, 1-based and the same
//     after a restore on another node: a client that refreshes from nextPosition
//     never misses or repeats an event. transcript-save-notices only decides what
//     the final transcript keeps, at the same indexes. The one event that cannot be
//     stored when it happens (the Notice of a failed save, transcript-auto-save=2)
//     takes its index in memory and waits with the unsaved records for the next
//     append.
//   - A file's bytes are in the store before its FileUploaded event is appended,
//     so an acknowledged upload is durable (files.go).
//   - A final transcript is saved with transcript-retention and, with an archive
//     webhook (Config.Archive), its outbox entry in the same write. A chat's
//     end is stored after its ending mark, and its final save (FinishChat)
//     clears the mark: a node that loads an ended chat, or finds a mark due,
//     finishes the chat, so an end whose node died before its final save is
//     saved and delivered by another node (finish.go). An erasure
//     (erase.go) drops a chat it holds before it erases the chat's rows, and no
//     restore or final save of that chat stores anything afterwards.
//   - An answer carries one page of the transcript (Config.PageEvents and
//     PageBytes; a single larger event alone), its nextPosition at the first
//     event left out, so no answer grows with the chat.
//
// Push: a refresh that asks with cometd.WaitHeader and finds no event from
// its position is held until an append wakes it (each session keeps a
// channel that every applied event, the end and the session's removal
// close), the wait ends, the chat leaves the node (answered 409), the pump
// that asked stops, or the node stops holding (StopHolding, before the HTTP
// server shuts down). No lock is held while it waits (hold.go). The node
// serves CometD (Bayeux) at cometd.Path and the file operations of CometD
// clients at api.ChatNtfPath, with its own handler as the REST side.
//
// Cluster glue comes in through Config: OnState is told every change of the
// node's mode and live-chat count (cmd wires it to membership.Member.Publish),
// Cluster gives the membership view in which a restore finds the previous
// owner to purge through api.Client (over https with Config.TLS), and CheckHeldChats is what the member
// calls after a refutation. Readiness is the store's own health (chat.Health).
//
// Goroutines: one sweeper per Node (idle alerts and close, flex disconnect,
// eviction of ended chats), one pause watch and one reader of the store's due
// ending marks; the CometD server's (its
// sweeper, a pump per attached chat, a reader per WebSocket); a held
// refresh parks the fasthttp goroutine of its request; final-transcript saves and
// purges of a previous owner that is not live run in the background and
// Close waits for them; request handlers run on fasthttp's goroutines.
package chatnode
