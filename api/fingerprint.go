package api

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"
	"strconv"
)

// Fingerprint returns a short digest of what the request asks when it is
// sent as action by participant (0: a create or an agent's join): every field
// that changes what is written, not the credentials, the alias or the
// transcript position. Two requests with equal fingerprints ask the same; a
// retried request has the fingerprint of the first try.
func (r *Request) Fingerprint(action string, participant int) string {
	h := sha256.New()
	put(h, action)
	put(h, strconv.Itoa(participant))
	for _, v := range []string{r.Nickname, r.FirstName, r.LastName, r.Subject, r.Email, r.Text, r.Message, r.MessageType} {
		put(h, v)
	}
	keys := make([]string, 0, len(r.UserData))
	for k := range r.UserData {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		put(h, k)
		put(h, r.UserData[k])
	}
	// Fields added later go in only when set, so requests without them keep
	// the fingerprints they were stored with.
	if r.PushURL != "" {
		put(h, "pushUrl")
		put(h, r.PushURL)
	}
	if r.File != nil {
		sum := sha256.Sum256(r.File.Data)
		put(h, "file")
		put(h, r.File.Name)
		put(h, string(sum[:]))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// put writes s to h with its length first, so no two field lists collide.
func put(h hash.Hash, s string) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	h.Write([]byte(s))
}
