// Package chatid owns the format of chat ids.
//
// A chat id is 32 lowercase hex digits: 8 for the home tag, a short form of the
// name and incarnation of the node that created the chat, then 24 random ones
// (96 bits). A proxy reads the home from the id alone, with no lookup.
// The package has no state and runs no goroutines.
package chatid

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"time"
)

// Len is the length of a chat id in characters.
const Len = 32

// ErrMalformed is returned by Parse for anything that is not a chat id.
var ErrMalformed = errors.New("malformed chat id")

// Home is the short form of a node's name and incarnation carried in a chat id.
type Home uint32

// HomeOf returns the home tag of the node with the given name and incarnation.
func HomeOf(name string, incarnation uint64) Home {
	h := fnv.New32a()
	h.Write([]byte(name))
	h.Write([]byte{'/'})
	h.Write(strconv.AppendUint(nil, incarnation, 10))
	return Home(h.Sum32())
}

// NewIncarnation returns the incarnation of a process starting now: its start
// time in microseconds, which tells restarts of one name apart, grows with
// each restart, and is read exactly by JSON clients (it is under 2^53). A
// process calls it once and gives the value to its node and its gossip member.
func NewIncarnation() uint64 { return uint64(time.Now().UnixMicro()) }

// String returns the tag as 8 hex digits.
func (h Home) String() string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(h))
	return hex.EncodeToString(b[:])
}

// New returns a fresh chat id with home tag h and 96 random bits read from r
// (crypto/rand.Reader in production).
func New(h Home, r io.Reader) (string, error) {
	var b [16]byte
	binary.BigEndian.PutUint32(b[:4], uint32(h))
	if _, err := io.ReadFull(r, b[4:]); err != nil {
		return "", fmt.Errorf("cannot read random bits for a chat id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Parse checks that s is a chat id and returns its home tag.
func Parse(s string) (Home, error) {
	if len(s) != Len {
		return 0, fmt.Errorf("%w: length %d, want %d", ErrMalformed, len(s), Len)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return 0, fmt.Errorf("%w: character %d is not a lowercase hex digit", ErrMalformed, i)
		}
	}
	v, err := strconv.ParseUint(s[:8], 16, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return Home(v), nil
}
