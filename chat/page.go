package chat

import "unicode/utf8"

// messageFrame is the JSON of a Message without its strings and numbers
// (encoding/json, every field present, userData empty), plus the comma that
// separates it from the next, plus room for three numbers of up to 20
// characters.
const messageFrame = len(`{"from":{"nickname":,"participantId":,"type":},"index":,"type":,"text":,"messageType":,"utcTime":,"userData":{}},`) + 3*20

// Page returns the first events of evs that fit in one answer: at most
// maxEvents, and at most maxBytes of messages as JSON (EncodedSize). The
// first event always goes, however large, so a client that asks again from
// the index of the first event left out gets the rest.
func Page(evs []Event, maxEvents, maxBytes int) []Event {
	size := 0
	for i := range evs {
		if i == maxEvents {
			return evs[:i]
		}
		size += evs[i].EncodedSize()
		if i > 0 && size > maxBytes {
			return evs[:i]
		}
	}
	return evs
}

// EncodedSize returns the bytes e takes at most as a Message in an answer's
// JSON, the separating comma included: exact for its strings, an upper bound
// for its numbers.
func (e *Event) EncodedSize() int {
	n := messageFrame + quotedLen(e.FromNick) + quotedLen(e.FromType.String()) + quotedLen(e.Type.String()) +
		quotedLen(e.Text) + quotedLen(e.MessageType)
	for k, v := range e.UserData {
		n += quotedLen(k) + quotedLen(v) + len(`:,`)
	}
	return n
}

// EncodedSize returns the bytes of evs as Messages in JSON, at most
// (Event.EncodedSize).
func EncodedSize(evs []Event) int {
	n := 0
	for i := range evs {
		n += evs[i].EncodedSize()
	}
	return n
}

// quotedLen returns the length of s as encoding/json writes it, quotes
// included: HTML-sensitive and control characters, invalid UTF-8 and the
// line and paragraph separators take a six-byte \u escape.
func quotedLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '"' || b == '\\' || b == '\b' || b == '\f' || b == '\n' || b == '\r' || b == '\t':
				n += 2
			case b < 0x20 || b == '<' || b == '>' || b == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			n += 6
		} else {
			n += size
		}
		i += size
	}
	return n
}
