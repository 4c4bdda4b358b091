// Package cassandra is the Apache Cassandra implementation of chat.Store, through gocql.
//
// It owns chatha's CQL schema (Schema, deploy/cassandra/schema.cql), the store URL
// (ParseURL) and the availability watch.
//
// Data model: sessions (one row per live chat, written once), events (one partition per
// chat, one row per record keyed by seq), transcripts (final transcripts, no TTL). Rows of
// sessions and events carry a TTL so that chats nobody ends clean themselves up.
//
// Invariants:
//   - Every write to a live chat is an LWT: the session row is inserted IF NOT EXISTS and
//     records are appended with INSERT ... IF NOT EXISTS, several records of one chat in one
//     conditional batch on its partition. Exactly one writer takes a seq (fencing), a batch is
//     stored whole or not at all, and a record is never rewritten, so the bytes written per
//     message do not grow with the transcript.
//   - Restore reads (Load) use the serial consistency level (LOCAL_SERIAL by default): they
//     see every finished LWT and finish any that a failed writer left half-done.
//   - Deletions of a chat's rows are LWTs too, so their Paxos timestamps order them after
//     every earlier write whatever the clocks say.
//   - An LWT whose outcome is unknown (timeout, lost connection) is retried; finding exactly
//     its own rows then counts as success. A refusal on the first try is always a refusal.
//
// Goroutines: gocql's own, and one availability watch per Store that probes Cassandra every
// Config.ProbeInterval, and at once after a failed request, and logs "cassandra status
// changed to UNAVAILABLE" (event CHATHA-CASS-001) or "... AVAILABLE" (CHATHA-CASS-002).
// Close stops it.
package cassandra
