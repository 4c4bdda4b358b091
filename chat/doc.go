// Package chat is the chat domain, a leaf every other part builds on: what a
// chat is (Session: participants, the transcript, its files, the request ids
// it has seen), what happens in it (Event, and Entry, the stored form of a change),
// how it is rebuilt from its stored log (Replay), the final transcript kept
// after it ends, and the contract of the stores that keep it (Store, its small
// interfaces and their sentinel errors: appends, files, the final transcript
// and its retention, how an ended chat is finished by any node, the outbox of
// the archive webhook, the ending marks, the userData index and erasure).
//
// Invariants:
//   - A chat's log is dense: record Seq n+1 follows n, from 1. Replay refuses a
//     gap, and exactly one append can take a Seq (the store's fencing).
//   - Transcript indexes are dense and 1-based over every event clients see,
//     typing notices included: each visible event is a record of the log
//     and takes the next index, so indexes survive a restore. The final
//     transcript may leave some types out (Final), keeping the indexes.
//   - Participant i has ID i: participants are only ever added at the end.
//
// The package starts no goroutines and holds no locks: a Session is not safe
// for concurrent use, its owner serialises access. It imports no HTTP server,
// no gossip and no store driver.
package chat
