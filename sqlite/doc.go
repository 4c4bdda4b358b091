// Package sqlite is chatha's embedded store: chat.Store on one SQLite file
// (modernc.org/sqlite, pure Go), with the same semantics as the Cassandra store.
//
// Several node processes may share one database file on one machine: the file is
// in WAL mode, every write transaction is BEGIN IMMEDIATE with a busy timeout, and
// a record's primary key (chat_id, seq) lets exactly one writer take each seq.
//
// Expiry: a chat's session row holds its expiry, its last write plus the TTL,
// moved on by every append, so a chat in use never expires; Load and Append
// treat a chat past its expiry as gone. A final transcript expires after the
// retention it was saved with, or never. The outbox (final transcripts for
// the archive webhook) is written in the transcript's transaction and leased
// with updates checked against the entry as read. FinishChat is one
// transaction (the transcript unless one is there, its outbox entry, the
// deletion of the live rows and of the chat's ending mark), taken only while
// the chat's session is there, so finishers of one chat and an erasure
// follow one another. The userData index lives
// as long as the chat or its transcript; Erase deletes a chat's rows from
// every table in one transaction.
//
// Goroutines: one committer per Store groups the writes that arrive together into
// one transaction (group commit), so concurrent chats share an fsync; one sweeper
// deletes the rows of chats idle past the TTL, and expired claims of create
// request ids, transcripts past their retention and index entries of chats
// with nothing left, a bounded number per transaction. Both stop on Close.
//
// Durability: with the default synchronous=FULL a write is on disk when its call
// returns, so it survives kill -9 of the process and a power cut; NORMAL survives
// kill -9 only.
package sqlite
