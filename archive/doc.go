// Package archive hands the final transcripts of ended chats to an archive
// (a CRM, a compliance store) through a webhook: each transcript is POSTed
// as JSON to one URL, signed with a shared secret, at least once.
//
// A node saves a chat's final transcript and its outbox entry in one write
// (chat.Final with Deliver), so a transcript is never lost between its save
// and its delivery. Every node with the webhook configured runs a Deliverer
// over the shared store's outbox: it leases due entries (a conditional
// write: one deliverer wins each), POSTs them, and completes them on a 2xx
// answer or reschedules them with exponential back-off (bounded, with
// jitter) otherwise. A lease runs out after Config.Lease, so the entries of
// a node that died mid-delivery are delivered by another node. A receiver
// may see a transcript more than once; the Idempotency-Key header (the chat
// id) tells it so.
//
// Every request carries X-Chatha-Signature: t=UNIX,v1=HEX, the hex
// HMAC-SHA256 under the secret of the decimal UNIX time, a '.', and the
// body; Verify checks one. The secret itself is never sent.
//
// Goroutines: a Deliverer runs one loop, which runs up to Config.Workers
// attempts at once; Close stops it and waits for them.
package archive
