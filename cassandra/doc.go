// Package cassandra is the Apache Cassandra implementation of chat.Store, through gocql.
//
// It owns chatha's CQL schema (Schema, deploy/cassandra/schema.cql), the store URL
// (ParseURL) and the availability watch.
//
// Data model: chats (one partition per chat: the session in static columns, one row per
// record keyed by seq), claims (which chat a create request id made), transcripts (final
// transcripts, each with its retention as TTL, or none), files (one partition per chat: each
// file a header row and its bytes in 256 KiB chunks), outbox (final transcripts waiting for
// the archive webhook, in a fixed number of bucket partitions, leased with LWTs), endings
// (the marks of chats whose end is being stored, bucketed and taken the same way), userdata
// and userdata_by_chat (the index of chosen userData values, both ways). The cells of chats,
// claims and files carry a TTL so that chats nobody ends clean themselves up; a chat's index
// entries follow its cells, then its transcript's retention.
//
// Expiry runs from a chat's last write. Every append sets the static last_write with the
// TTL, and a chat whose last_write has expired is gone for Load and Append. Every other
// cell of a chat is written with 1.5 times the TTL; an append that finds the chat's cells
// written more than half a TTL ago (the static refreshed_at) first writes them all again,
// as they are, with a fresh TTL (refresh), its files included. So a chat in use never loses
// a cell, an idle one is gone one TTL after its last write, and its cells follow within half
// a TTL. A refresh costs one write per record (and per file chunk) once per half TTL:
// nothing, amortised, at the default 24 h.
//
// Invariants:
//   - Every write to a live chat is an LWT: a create is one conditional batch on the chat's
//     partition (the session cells and the first records, INSERT ... IF NOT EXISTS), and
//     records are appended with INSERT ... IF NOT EXISTS, with last_write, in one
//     conditional batch on the partition that also holds only while the chat is live.
//     Exactly one writer takes a seq (fencing), a batch is stored whole or not at all, and a
//     record is never changed (a refresh writes the same values again), so the bytes written
//     per message do not grow with the transcript.
//   - Restore reads (Load) use the serial consistency level (LOCAL_SERIAL by default): they
//     see every finished LWT and finish any that a failed writer left half-done.
//   - Deletions of a chat's session cells are LWTs too, so their Paxos timestamps order them
//     after every earlier write whatever the clocks say. A refresh writes the records again
//     with plain writes (their values do not change, only their expiry) and the session cells
//     with an LWT that holds only while the chat is live, so an ended chat stays ended.
//   - An LWT whose outcome is unknown (timeout, lost connection) is retried; finding exactly
//     its own rows then counts as success. A refusal on the first try is always a refusal.
//   - FinishChat takes steps any finisher may take again, the mark last: the outbox entry
//     and then the transcript, each IF NOT EXISTS and only when no transcript is there, so a
//     chat gets one transcript, queued before it was stored; then the log is read again and
//     a chat erased meanwhile is erased once more.
//   - Erase deletes each of a chat's partitions and rows with a timestamp past the write time
//     of every cell it read, so cells written by LWTs (Paxos ballot timestamps, not this
//     client's clock) go too.
//
// Goroutines: gocql's own, and one availability watch per Store that probes Cassandra every
// Config.ProbeInterval, and at once after a failed request, and logs "cassandra status
// changed to UNAVAILABLE" (event CHATHA-CASS-001) or "... AVAILABLE" (CHATHA-CASS-002).
// At start, New warns (CHATHA-CASS-003) when the Cassandra node it reaches syncs its
// commit log periodically: acknowledged writes are then lost when replicas crash.
// Close stops it.
package cassandra
