package api

import (
	"bytes"
	"encoding/json"
	"regexp"
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
	maxRequestID    = 128 // the X-Request-Id kept with events
)

var serviceName = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)

// Request holds the fields of a chat API request, copied out of the body.
type Request struct {
	// Nickname, FirstName and LastName name a new participant.
	Nickname, FirstName, LastName string
	// Subject, Email and Text (a first message) go with a create.
	Subject, Email, Text string
	// UserID and SecureKey authenticate a participant; Alias is sent back.
	UserID, SecureKey, Alias string
	// Message and MessageType are what send (and pushUrl, customNotice) sends.
	Message, MessageType string
	// PushURL is the URL a pushUrl sends, when given in a field of that name
	// rather than in Message.
	PushURL string
	// TranscriptPosition is where the answer's messages start: 0 is none.
	// With PositionGiven false and TranscriptPosition 0 the request named no
	// position (Position).
	TranscriptPosition int
	// PositionGiven is true when the request named transcriptPosition, 0 included.
	PositionGiven bool
	// UserData holds userData[key] fields.
	UserData map[string]string
	// File is the file part of a multipart upload, nil without one.
	File *FilePart
}

// FilePart is the file of a multipart upload.
type FilePart struct {
	// Name is the file name the client gave, without any folder.
	Name string
	// Type is the content type the client declared; chatha does not trust it.
	Type string
	// Data is the file's bytes.
	Data []byte
}

// Position returns the transcript position the request asks its answer to
// start at: the one it named (0: no messages), or def when it named none.
func (r *Request) Position(def int) int {
	if r.PositionGiven || r.TranscriptPosition > 0 {
		return r.TranscriptPosition
	}
	return def
}

// Name returns the nickname, or else firstName and lastName.
func (r *Request) Name() string {
	if r.Nickname != "" {
		return r.Nickname
	}
	return strings.TrimSpace(r.FirstName + " " + r.LastName)
}

// CheckService reports whether name is a valid chat service name.
func CheckService(name string) error {
	if !serviceName.MatchString(name) {
		return BadRequest("service name must be 1 to 64 letters, digits, '_', '.' or '-'")
	}
	return nil
}

// ReadRequest reads a chat API request, and its X-Request-Id: a form, JSON
// or multipart/form-data body, or for a GET the query string.
func ReadRequest(ctx *fasthttp.RequestCtx, maxMessage int) (*Request, string, error) {
	id := ctx.Request.Header.Peek("X-Request-Id")
	if len(id) > maxRequestID {
		return nil, "", TooLarge("X-Request-Id", maxRequestID)
	}
	if ctx.IsGet() || ctx.IsHead() {
		req, err := ParseForm(ctx.URI().QueryString(), maxMessage)
		return req, string(id), err
	}
	ct := ctx.Request.Header.ContentType()
	if boundary, ok := MultipartBoundary(ct); ok {
		req, err := ParseMultipart(ctx.PostBody(), boundary, maxMessage)
		return req, string(id), err
	}
	parse := ParseForm
	if IsJSON(ct) {
		parse = ParseJSON
	}
	req, err := parse(ctx.PostBody(), maxMessage)
	return req, string(id), err
}

// Encode returns r as a form body: its fields that are set (not File).
func (r *Request) Encode() []byte {
	var args fasthttp.Args
	for _, key := range fields {
		if v := *r.field(key); v != "" {
			args.Add(key, v)
		}
	}
	if r.TranscriptPosition > 0 || r.PositionGiven {
		args.Add("transcriptPosition", strconv.Itoa(r.TranscriptPosition))
	}
	for k, v := range r.UserData {
		args.Add("userData["+k+"]", v)
	}
	return args.QueryString()
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

// IsJSON reports whether a Content-Type header names a JSON body: its media
// type is application/json in any case, with or without parameters.
func IsJSON(contentType []byte) bool {
	media, _, _ := bytes.Cut(contentType, []byte(";"))
	media = bytes.TrimSpace(media)
	const want = "application/json"
	if len(media) != len(want) {
		return false
	}
	for i, c := range media {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

// ParseJSON reads a JSON object body; values are strings (numbers are taken as
// their text) and userData is an object of strings. A body that is not valid
// UTF-8, or holds a lone UTF-16 surrogate escape, is refused: encoding/json
// would silently replace either with U+FFFD.
func ParseJSON(body []byte, maxMessage int) (*Request, error) {
	if err := checkJSONText(body); err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, BadRequest("body is not a JSON object: %v", err)
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
			return "", BadRequest("field %s: %v", key, err)
		}
		return s, nil
	}
	if len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) {
		return string(raw), nil
	}
	if string(raw) == "null" {
		return "", nil
	}
	return "", BadRequest("field %s must be a string or a number", key)
}

func (r *Request) setUserData(raw json.RawMessage) error {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return BadRequest("userData must be an object of strings: %v", err)
	}
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return BadRequest("userData[%s] must be a string", k)
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
		return BadRequest("field %s is not valid UTF-8", key)
	}
	if name, ok := strings.CutPrefix(key, "userData["); ok && strings.HasSuffix(name, "]") {
		return r.setData(strings.TrimSuffix(name, "]"), v)
	}
	switch key {
	case "message", "text", "pushUrl":
		if len(v) > maxMessage {
			return TooLarge("field "+key, maxMessage)
		}
	case "transcriptPosition":
		return r.setPosition(v)
	}
	if dst := r.field(key); dst != nil {
		if key != "message" && key != "text" && key != "pushUrl" && len(v) > maxField {
			return TooLarge("field "+key, maxField)
		}
		*dst = v
	}
	return nil
}

// known reports whether key is a field of the API.
func (r *Request) known(key string) bool {
	return r.field(key) != nil || key == "transcriptPosition" || strings.HasPrefix(key, "userData[")
}

// fields are the names of the text fields of a request.
var fields = []string{"nickname", "firstName", "lastName", "subject", "emailAddress", "text", "userId", "secureKey", "alias", "message", "messageType", "pushUrl"}

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
	case "pushUrl":
		return &r.PushURL
	}
	return nil
}

// setPosition reads transcriptPosition: 0 asks for no messages (as GMS
// clients send it), 1 or more for the messages from there; empty is none.
func (r *Request) setPosition(v string) error {
	if v == "" {
		return nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 0 || p > maxPosition {
		return BadRequest("transcriptPosition must be a whole number from 0 to %d", maxPosition)
	}
	r.TranscriptPosition, r.PositionGiven = p, true
	return nil
}

func (r *Request) setData(k, v string) error {
	switch {
	case k == "" || len(k) > maxUserDataKey:
		return BadRequest("userData keys must be 1 to %d bytes", maxUserDataKey)
	case !utf8.ValidString(k) || !utf8.ValidString(v):
		return BadRequest("userData[%s] is not valid UTF-8", k)
	case len(v) > maxUserDataVal:
		return TooLarge("userData["+k+"]", maxUserDataVal)
	}
	if r.UserData == nil {
		r.UserData = map[string]string{}
	}
	if _, dup := r.UserData[k]; !dup && len(r.UserData) >= maxUserDataKeys {
		return BadRequest("at most %d userData keys", maxUserDataKeys)
	}
	r.UserData[k] = v
	return nil
}
