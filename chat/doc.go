// Package chat is the chat domain, a leaf every other part builds on: what a
// chat is (Session: participants, the transcript, the request ids it has
// seen), what happens in it (Event, and Entry, the stored form of a change),
// how it is rebuilt from its stored log (Replay), the final transcript kept
// after it ends, and the contract of the stores that keep it (Store, its small
// interfaces and their sentinel errors).
//
// Invariants:
//   - A chat's log is dense: record Seq n+1 follows n, from 1. Replay refuses a
//     gap, and exactly one append can take a Seq (the store's fencing).
//   - Transcript indexes are dense and 1-based over the events clients see in
//     the transcript; transient events (typing under the default policy) take
//     none and are shown to each other participant once.
//   - Participant i has ID i: participants are only ever added at the end.
//
// The package starts no goroutines and holds no locks: a Session is not safe
// for concurrent use, its owner serialises access. It imports no HTTP server,
// no gossip and no store driver.
package chat
