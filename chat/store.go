package chat

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors of the store contract. Stores wrap them; callers test with errors.Is.
var (
	// ErrSeqTaken means a conditional append found one of its sequence numbers
	// already stored: another node owns the chat now (fencing).
	ErrSeqTaken = errors.New("sequence number already taken")
	// ErrChatExists means a chat with that id was already created.
	ErrChatExists = errors.New("chat already exists")
	// ErrUnknownChat means the store holds no live chat with that id.
	ErrUnknownChat = errors.New("unknown chat")
	// ErrUnknownFile means a live chat has no file with that id.
	ErrUnknownFile = errors.New("unknown file")
	// ErrLeaseLost means an outbox entry is not (or no longer) leased with
	// the token given: another deliverer took it, or it is gone.
	ErrLeaseLost = errors.New("outbox entry leased by another, or gone")
)

// SessionRow is what is fixed when a chat is created; it is written once.
type SessionRow struct {
	// ChatID is the chat's id as given to clients.
	ChatID string
	// Service is the chat service name of the create request.
	Service string
	// CreatedAt is when the chat was created (UTC, millisecond precision is kept).
	CreatedAt time.Time
	// Data is the encoded Creation (creator, its key hash, user data); opaque to stores.
	Data []byte
}

// Record is one entry of a chat's append-only log.
//
// Seq is dense and 1-based over the records of one chat; it is the fencing key:
// exactly one append can take a given Seq. Data is opaque to stores.
type Record struct {
	// Seq is the 1-based position of the record in the chat's log.
	Seq uint64
	// RequestID is the X-Request-Id of the write that appended the record, or "".
	RequestID string
	// Data is the encoded Entry.
	Data []byte
}

// Creator writes a new chat.
type Creator interface {
	// Create stores the session row and the first records (Seq 1..n, n >= 1)
	// of a new chat, all or nothing. It fails with ErrChatExists if the chat
	// id is taken.
	Create(ctx context.Context, row SessionRow, first []Record) error
}

// Claimer remembers which chat a create request made, so that the request
// retried on any node finds that chat instead of making another.
type Claimer interface {
	// Claim records that the create with request id requestID makes chat
	// chatID, unless a chat is recorded for requestID already, and returns the
	// chat recorded for it: chatID, or the earlier one. A claim lives at
	// least as long as the store's TTL; Create may or may not follow it.
	Claim(ctx context.Context, requestID, chatID string) (string, error)
}

// Appender appends to a live chat's log; it is the only write to a live chat.
type Appender interface {
	// Append stores recs, whose Seq are consecutive, all or nothing. It fails with
	// ErrSeqTaken when any of their Seq is already stored, and stores none of them then.
	// It fails with ErrUnknownChat when the chat has no live rows (it ended, or
	// expired). It restarts the chat's TTL: a store's TTL runs from a chat's
	// last write.
	Append(ctx context.Context, chatID string, recs []Record) error
}

// Loader reads a chat back for restore.
type Loader interface {
	// Load returns the session row and every record in Seq order. It reads what
	// every finished append wrote. It fails with ErrUnknownChat if there is no
	// such chat, or it has ended or expired: it was not written for longer
	// than the store's TTL.
	Load(ctx context.Context, chatID string) (SessionRow, []Record, error)
}

// Final is the final transcript of an ended chat as a node hands it to the store.
type Final struct {
	// ChatID is the chat's id.
	ChatID string
	// Data is the encoded Transcript.
	Data []byte
	// Retention is how long the store keeps it from now (transcript-retention);
	// 0 keeps it for ever. Each transcript keeps the retention it was saved with.
	Retention time.Duration
	// Deliver also queues it in the outbox for the archive webhook, in the
	// same write: a transcript saved for delivery is never lost to a crash.
	Deliver bool
}

// Finisher keeps the final transcript of an ended chat and removes its live rows.
type Finisher interface {
	// SaveTranscript stores the final transcript of a chat for f.Retention
	// (the store's TTL never removes it) and, with f.Deliver, its outbox
	// entry, all or nothing. Saving it again overwrites it. It is the final
	// save of a chat that has no log in the store (transcript-auto-save=0);
	// a chat with a log is finished with FinishChat.
	SaveTranscript(ctx context.Context, f Final) error
	// FinishChat finishes a chat whose log ends with its end: unless the
	// chat has a final transcript already, or has no log left (it was
	// erased, or expired), it stores f as its final transcript for
	// f.Retention and, with f.Deliver, queues it in the outbox; then it
	// removes the chat's live rows as Delete does, and its ending mark
	// (Endings). It reports whether it stored the transcript. Several
	// nodes may finish one chat at once, or again after a crash at any
	// step: the chat gets at most one final transcript, never overwritten,
	// and at most one outbox entry at a time, queued with that transcript
	// (a finisher that stalled may rarely queue it again after its
	// delivery: deliveries are at least once); a chat erased before or
	// during FinishChat keeps nothing of what it wrote once it returns.
	FinishChat(ctx context.Context, f Final) (bool, error)
	// Delete removes a chat's live rows and its files: Load fails with
	// ErrUnknownChat after it.
	// A later Append of a seq the chat had must still fail (ErrSeqTaken or
	// ErrUnknownChat), so a stale owner cannot append to an ended chat; a store
	// may keep the records until their TTL for that.
	Delete(ctx context.Context, chatID string) error
}

// TranscriptReader reads final transcripts back.
type TranscriptReader interface {
	// Transcript returns the final transcript of a chat, or ErrUnknownChat
	// (none was saved, its retention ran out, or it was erased).
	Transcript(ctx context.Context, chatID string) ([]byte, error)
}

// Delivery is an outbox entry: a final transcript waiting to be handed to
// the archive webhook.
type Delivery struct {
	// ChatID is the chat's id; it is the entry's key.
	ChatID string
	// Data is the final transcript; only LeaseDelivery fills it.
	Data []byte
	// Due is when the entry may be tried next: its first try, the end of a
	// lease, or the end of a back-off.
	Due time.Time
	// Attempts counts the attempts started (leases taken) so far.
	Attempts int
	// Lease is the token of the deliverer holding it, or "".
	Lease string
}

// Outbox hands final transcripts saved with Final.Deliver to deliverers on
// any node, at least once each. A deliverer leases an entry (a conditional
// write: one of several taking it at once wins), delivers it, and then
// completes it; a lease that runs out (the deliverer died) makes the entry
// due again for any deliverer.
type Outbox interface {
	// DueDeliveries returns up to limit entries due at now, without their
	// Data. It reads a bounded part of the outbox, whatever its size.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// LeaseDelivery leases the entry d (as DueDeliveries returned it) to
	// token until until, if it is still as it was read: it returns the entry
	// with its Data, Attempts counting this one, or ErrLeaseLost.
	LeaseDelivery(ctx context.Context, d Delivery, token string, until time.Time) (Delivery, error)
	// RetryDelivery makes an entry that token holds due again at due, after a
	// failed attempt; ErrLeaseLost if token no longer holds it.
	RetryDelivery(ctx context.Context, chatID, token string, due time.Time) error
	// CompleteDelivery removes an entry that token holds, once delivered;
	// ErrLeaseLost if token no longer holds it (the entry stays).
	CompleteDelivery(ctx context.Context, chatID, token string) error
}

// Ending is the mark of a chat whose end is being stored: written before
// its end record is appended, removed when it is finished (FinishChat).
type Ending struct {
	// ChatID is the chat's id; it is the mark's key.
	ChatID string
	// Due is when any node may finish the chat, its own node having had the
	// time to do it: the end of its save's retries, or of a lease.
	Due time.Time
	// Attempts counts the times a node took the mark (TakeEnding).
	Attempts int
}

// Endings keeps the marks of chats that are ending, so that a chat whose
// node dies after its end is stored and before its final transcript is
// (FinishChat) is finished by another node, whether or not a client asks
// about it again. A mark found due names a chat to load: one whose log
// ends with its end is finished; one that did not end (its end was never
// stored: the chat goes on), or has no log left, only loses its mark.
type Endings interface {
	// MarkEnding records that chat chatID is ending and may be finished by
	// any node from due. Marking a marked chat again sets its due.
	MarkEnding(ctx context.Context, chatID string, due time.Time) error
	// DueEndings returns up to limit marks due at now. It reads a bounded
	// part of the marks, whatever their number.
	DueEndings(ctx context.Context, now time.Time, limit int) ([]Ending, error)
	// TakeEnding moves the mark e (as DueEndings returned it) to until and
	// counts an attempt, if it is still as it was read: of several nodes
	// taking one mark at once one wins, and the others get ErrLeaseLost
	// (as do all when the mark is gone). A node that takes a mark and dies
	// leaves it due again at until.
	TakeEnding(ctx context.Context, e Ending, until time.Time) (Ending, error)
	// ClearEnding removes a chat's mark; a chat without one is no error.
	ClearEnding(ctx context.Context, chatID string) error
}

// UserDataIndex maps values of chosen userData keys to the chats that had
// them, so that a customer's chats can be found and erased. A chat's entries
// live as long as anything else of the chat is kept.
type UserDataIndex interface {
	// IndexUserData records that chat chatID has had each key=value of pairs.
	IndexUserData(ctx context.Context, chatID string, pairs map[string]string) error
	// ChatsByUserData returns up to limit ids of chats indexed under key=value.
	ChatsByUserData(ctx context.Context, key, value string, limit int) ([]string, error)
}

// Erased says what Erase removed of a chat.
type Erased struct {
	// Session is true if the chat's session (its live rows) was there.
	Session bool `json:"session"`
	// Records is how many records of its log were removed.
	Records int `json:"records"`
	// Files is how many files were removed.
	Files int `json:"files"`
	// Transcript is true if a final transcript was removed.
	Transcript bool `json:"transcript"`
	// Outbox is true if an outbox entry (an undelivered transcript) was removed.
	Outbox bool `json:"outbox"`
	// Claims is how many create claims naming the chat were removed.
	Claims int `json:"claims"`
	// Index is how many userData index entries of the chat were removed.
	Index int `json:"index"`
}

// Add returns what e and o removed together.
func (e Erased) Add(o Erased) Erased {
	return Erased{
		Session: e.Session || o.Session, Records: e.Records + o.Records, Files: e.Files + o.Files,
		Transcript: e.Transcript || o.Transcript, Outbox: e.Outbox || o.Outbox,
		Claims: e.Claims + o.Claims, Index: e.Index + o.Index,
	}
}

// Any reports whether anything was removed.
func (e Erased) Any() bool {
	return e.Session || e.Records > 0 || e.Files > 0 || e.Transcript || e.Outbox || e.Claims > 0 || e.Index > 0
}

// Eraser removes a chat's data on request (a customer's right to erasure).
type Eraser interface {
	// Erase removes everything the store keeps of a chat: its session,
	// records, files, final transcript, outbox entry, ending mark, the
	// create claims that name it and its userData index entries, and says what it removed (on
	// an error, what it removed before it). A chat erased or never stored is
	// no error. An append to an erased chat fails.
	Erase(ctx context.Context, chatID string) (Erased, error)
}

// Files keeps the files participants upload to a live chat, in the chat's
// store, so a file uploaded through one node downloads from any other. A
// chat's files live as long as its records: they expire with the chat, TTL
// after its last write (never while it is in use), and Delete removes them.
type Files interface {
	// PutFile stores the bytes of file fileID of a live chat, whole or not
	// at all: a PutFile that fails leaves nothing ReadFile returns. Putting
	// an id again replaces its bytes. It fails with ErrUnknownChat when the
	// chat has ended or expired.
	PutFile(ctx context.Context, chatID, fileID string, data []byte) error
	// ReadFile returns the bytes of a file of a live chat. It fails with
	// ErrUnknownChat when the chat has ended or expired, and with
	// ErrUnknownFile when the chat has no such file.
	ReadFile(ctx context.Context, chatID, fileID string) ([]byte, error)
	// DeleteFile removes a file of a chat; a file that is not there is no error.
	DeleteFile(ctx context.Context, chatID, fileID string) error
}

// Store is everything a chat node needs from storage. Implementations must be
// safe for concurrent use, and for use by several node processes at once.
type Store interface {
	Creator
	Claimer
	Appender
	Loader
	Finisher
	TranscriptReader
	Files
	Outbox
	Endings
	UserDataIndex
	Eraser
	// Close releases the store's resources.
	Close() error
}

// Health is implemented by stores that watch whether they can serve. A node
// is ready while its store is available; a store without Health is taken as
// always available.
type Health interface {
	// Available reports whether the store's last check found it able to
	// write. It must return at once, and recover by itself once the store
	// works again, whether or not anyone writes meanwhile.
	Available() bool
}

// IsLost reports whether a store error means another node owns the chat now,
// or it was ended and removed elsewhere.
func IsLost(err error) bool {
	return errors.Is(err, ErrSeqTaken) || errors.Is(err, ErrUnknownChat)
}
