// Package check owns the history checker of chaos runs: the history types a
// run records (every call each participant made, its outcome and the events
// its answer carried, and each chat's final transcript), their JSON form for
// saving a failing run with its seed and replaying it, and the checks that
// turn a history into a Summary.
//
// The checks, per chat:
//   - lost: an acknowledged message missing from the final transcript, or from
//     a refresh that started after the acknowledgement and covers the
//     message's index;
//   - duplicated: a message text twice in the final transcript or in one
//     answer, or at two different indexes across answers;
//   - reordered: acknowledged messages of one participant not in
//     acknowledgement order in the transcript;
//   - divergent: two answers (of two readers, or of one reader at two times)
//     holding different events at one index, an answer whose indexes do not
//     strictly increase, a final transcript whose indexes are not 1, 2, 3, ...;
//   - non-linearizable: no order of the chat's operations, each taking effect
//     at one instant between its call and its return, explains every answer
//     (github.com/anishathalye/porcupine against a transcript model);
//   - counted, not violations: retries (statusCode 1, HTTP 409 or 503),
//     ambiguous calls (no answer), errors the client could not retry (by
//     kind), and chats whose linearizability search timed out ("unknown").
//
// # The transcript model
//
// The model's state is the sequence of message texts in the transcript. An
// acknowledged send appends its text between its call and its return. A send
// never acknowledged (no answer, retry or error) may or may not have taken
// effect: it is an operation without a return, which porcupine may place
// anywhere after its call, including after every other operation, which is
// "not at all". Retries of one message keep its text and request id, and a
// node answers a retried request id from what it stored, so all sends of one
// text are one append: from the first call to the first acknowledgement. A
// never-acknowledged send whose text no answer shows constrains nothing and is
// left out. An acknowledged refresh from position P returned the messages from
// P as the state held them at one instant between call and return; the final
// transcript is a read from position 1 when it was taken.
//
// Non-message events (joins, leaves, restore notices, persisted typing and
// other notices) take transcript indexes too, but they are not caused by
// operations the model sees: restore notices appear when a node restores the
// chat, idle alerts when time passes. The model therefore decides messages
// only, and the rest is projected away: a read's answer becomes the texts of
// its Message events, and its position P becomes a message offset, the number
// of messages at indexes below P in the consensus of all answers (the final
// transcript first, then answers by return time). Where readers disagreed on
// an index the divergence check reports it; where they agree, the consensus
// is what every reader saw, so the projection is exact. Non-message events
// are checked by the index checks only: every reader must see the same event
// at an index, and the final transcript must be dense once the events
// readers saw at the indexes it leaves out are counted, and one index no
// reader saw for each typing call that may have taken effect (a stored
// final transcript may leave out typing notices and notices, keeping the
// indexes of the rest). Events at index 0 (outside the transcript, as typing
// notices were before every event took an index) are only counted as part
// of their answer.
//
// Histories are checked chat by chat: the model partitions a history by chat
// (porcupine's Partition), and Check runs porcupine on each chat's partition
// separately, Config.Workers at a time, each within Config.Timeout, so a
// result names its chat and a search that timed out counts as unknown for
// that chat alone.
//
// Check runs Config.Workers goroutines for the length of a call; a Recorder
// may be used from any number of goroutines. Nothing else runs in the
// background.
package check
