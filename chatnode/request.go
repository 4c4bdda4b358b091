package chatnode

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// Field limits besides the message size.
const (
	maxField        = 1024 // nickname, subject, e-mail, ids
	maxUserDataKeys = 64
	maxUserDataKey  = 128
	maxUserDataVal  = 4096
	maxPosition     = 1 << 30
)

// Request holds the fields of a chat API request, copied out of the body.
type Request struct {
	Nickname, FirstName, LastName string
	Subject, Email, Text          string
	UserID, SecureKey, Alias      string
	Message, MessageType          string
	// TranscriptPosition is 0 when the request has none.
	TranscriptPosition int
	// UserData holds userData[key] fields.
	UserData map[string]string
}

func (r *Request) nickname() string {
	if r.Nickname != "" {
		return r.Nickname
	}
	return strings.TrimSpace(r.FirstName + " " + r.LastName)
}

// ParseForm reads an application/x-www-form-urlencoded body.
func ParseForm(body []byte, maxMessage int) (*Request, error) {
	var args fasthttp.Args
	args.ParseBytes(body)
	r := &Request{}
	for k, v := range args.All() {
		if err := r.set(string(k), string(v), maxMessage); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// ParseJSON reads a JSON object body; values are strings (numbers are taken as
// their text) and userData is an object of strings.
func ParseJSON(body []byte, maxMessage int) (*Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, errBadRequest("body is not a JSON object: %v", err)
	}
	r := &Request{}
	for k, raw := range fields {
		if k == "userData" {
			if err := r.setUserData(raw); err != nil {
				return nil, err
			}
			continue
		}
		if !r.known(k) {
			continue
		}
		v, err := jsonScalar(k, raw)
		if err != nil {
			return nil, err
		}
		if err := r.set(k, v, maxMessage); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func jsonScalar(key string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", errBadRequest("field %s: %v", key, err)
		}
		return s, nil
	}
	if len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) {
		return string(raw), nil
	}
	if string(raw) == "null" {
		return "", nil
	}
	return "", errBadRequest("field %s must be a string or a number", key)
}

func (r *Request) setUserData(raw json.RawMessage) error {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return errBadRequest("userData must be an object of strings: %v", err)
	}
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return errBadRequest("userData[%s] must be a string", k)
		}
		if err := r.setData(k, s); err != nil {
			return err
		}
	}
	return nil
}

// set stores one field, checking its size and encoding. Unknown fields are
// ignored, as GMS clients send fields of their own.
func (r *Request) set(key, v string, maxMessage int) error {
	if !utf8.ValidString(v) {
		return errBadRequest("field %s is not valid UTF-8", key)
	}
	if name, ok := strings.CutPrefix(key, "userData["); ok && strings.HasSuffix(name, "]") {
		return r.setData(strings.TrimSuffix(name, "]"), v)
	}
	switch key {
	case "message", "text":
		if len(v) > maxMessage {
			return errTooLarge("field "+key, maxMessage)
		}
	case "transcriptPosition":
		return r.setPosition(v)
	}
	if dst := r.field(key); dst != nil {
		if key != "message" && key != "text" && len(v) > maxField {
			return errTooLarge("field "+key, maxField)
		}
		*dst = v
	}
	return nil
}

// known reports whether key is a field of the API.
func (r *Request) known(key string) bool {
	return r.field(key) != nil || key == "transcriptPosition" || strings.HasPrefix(key, "userData[")
}

func (r *Request) field(key string) *string {
	switch key {
	case "nickname":
		return &r.Nickname
	case "firstName":
		return &r.FirstName
	case "lastName":
		return &r.LastName
	case "subject":
		return &r.Subject
	case "emailAddress":
		return &r.Email
	case "text":
		return &r.Text
	case "userId":
		return &r.UserID
	case "secureKey":
		return &r.SecureKey
	case "alias":
		return &r.Alias
	case "message":
		return &r.Message
	case "messageType":
		return &r.MessageType
	}
	return nil
}

func (r *Request) setPosition(v string) error {
	if v == "" {
		return nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > maxPosition {
		return errBadRequest("transcriptPosition must be a whole number from 1 to %d", maxPosition)
	}
	r.TranscriptPosition = p
	return nil
}

func (r *Request) setData(k, v string) error {
	switch {
	case k == "" || len(k) > maxUserDataKey:
		return errBadRequest("userData keys must be 1 to %d bytes", maxUserDataKey)
	case !utf8.ValidString(k) || !utf8.ValidString(v):
		return errBadRequest("userData[%s] is not valid UTF-8", k)
	case len(v) > maxUserDataVal:
		return errTooLarge("userData["+k+"]", maxUserDataVal)
	}
	if r.UserData == nil {
		r.UserData = map[string]string{}
	}
	if _, dup := r.UserData[k]; !dup && len(r.UserData) >= maxUserDataKeys {
		return errBadRequest("at most %d userData keys", maxUserDataKeys)
	}
	r.UserData[k] = v
	return nil
}
