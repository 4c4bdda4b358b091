package api

import (
	"unicode/utf8"
)

// checkJSONText refuses a JSON body that is not valid UTF-8 or whose strings
// hold a \u escape of a UTF-16 surrogate that is not one half of a pair, the
// two things encoding/json would replace with U+FFFD instead of failing. It
// reads body as JSON only as far as telling strings apart; json.Unmarshal
// checks the rest.
func checkJSONText(body []byte) error {
	if !utf8.Valid(body) {
		return BadRequest("body is not valid UTF-8")
	}
	inString := false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			n, ok := escapeLen(body[i:])
			if !ok {
				return BadRequest("body holds a \\u escape of a lone UTF-16 surrogate, which is not a character")
			}
			i += n - 1
		}
	}
	return nil
}

// escapeLen returns the length of the escape at the start of b, and false
// when it is a \u escape of a surrogate that is not a high one followed by a
// low one. A malformed escape is left to the JSON decoder.
func escapeLen(b []byte) (int, bool) {
	if len(b) < 2 || b[1] != 'u' {
		return 2, true
	}
	r, ok := hex4(b[2:])
	switch {
	case !ok:
		return 2, true
	case r >= 0xDC00 && r <= 0xDFFF: // a low surrogate first
		return 6, false
	case r < 0xD800 || r > 0xDBFF:
		return 6, true
	}
	if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
		return 6, false
	}
	lo, ok := hex4(b[8:])
	return 12, ok && lo >= 0xDC00 && lo <= 0xDFFF
}

// hex4 reads four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}
