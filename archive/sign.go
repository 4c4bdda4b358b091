package archive

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header that carries a delivery's signature.
const SignatureHeader = "X-Chatha-Signature"

// Errors of Verify.
var (
	// ErrBadSignature means the signature header is malformed or matches
	// neither the body nor the secret.
	ErrBadSignature = errors.New("the webhook signature does not match")
	// ErrStale means the signature's time is further from now than the
	// tolerance: a replay, or clocks far apart.
	ErrStale = errors.New("the webhook signature is too old or too new")
)

// maxSignatureHeader bounds the header Verify reads.
const maxSignatureHeader = 1024

// Sign returns the signature header value of body sent at t under secret:
// t=UNIX,v1=HEX, where HEX is HMAC-SHA256(secret, "UNIX." + body).
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks the signature header value header of body under secret: its
// time is within tolerance of now, and one of its v1 signatures matches. A
// receiver calls it with the raw body, before it parses it.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(header) > maxSignatureHeader {
		return ErrBadSignature
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
			return ErrBadSignature
		case k == "t":
			ts = v
		case k == "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return ErrBadSignature
			}
			sigs = append(sigs, sig)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := mac(secret, ts, body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return ErrBadSignature
}
