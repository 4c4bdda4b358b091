package cometd

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"io"
	"mime/multipart"
	"net/url"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// File operations: GMS clients in CometD mode send them over plain HTTP to
// api.ChatNtfPath, not on the Bayeux channel, naming the chat by the
// participant's secureKey alone. FilesHandler finds the chat among those
// the sessions of this server are attached to, and sends the operation to
// the chat API's file route of that chat on the REST side, so that files
// work in CometD mode exactly as in REST mode (stored before they are
// announced, checked against the same limits, surviving a failover).

// ntfService is the service named in the REST path of a file operation
// whose chat no session of this server knows (the client named it with
// chatId): the chat API routes file operations by chat id alone.
const ntfService = "cometd"

// maxNtfParts and maxNtfField bound what FilesHandler reads of a request:
// the REST side reads and checks the whole of it again.
const (
	maxNtfParts = 256
	maxNtfField = 1024
)

// fileOp is how an operation of api.ChatNtfPath maps to the chat API.
type fileOp struct {
	// tail follows .../{chatId}/file[/{fileId}] in the REST path.
	tail string
	// needsID is set for the operations on one file (fileId).
	needsID bool
	// upload passes the request's body on as it came.
	upload bool
}

// fileOps are the operations of api.ChatNtfPath. fileGetsLimits is how one
// SDK spells fileGetLimits.
var fileOps = map[string]fileOp{
	"fileUpload":     {upload: true},
	"fileGetLimits":  {tail: "/limits"},
	"fileGetsLimits": {tail: "/limits"},
	"fileDownload":   {tail: "/download", needsID: true},
	"fileDelete":     {tail: "/delete", needsID: true},
}

// ntfRequest is what a request to api.ChatNtfPath names.
type ntfRequest struct {
	operation, secureKey, userID, chatID, fileID string
	// file is set when a multipart body has a part named file.
	file bool
}

// field returns where the field called key goes, nil for other fields.
func (r *ntfRequest) field(key string) *string {
	switch key {
	case "operation":
		return &r.operation
	case "secureKey":
		return &r.secureKey
	case "userId":
		return &r.userID
	case "chatId":
		return &r.chatID
	case "fileId":
		return &r.fileID
	}
	return nil
}

// FilesHandler serves api.ChatNtfPath: fileUpload (multipart, the file in
// part file; a body with a file and no operation is an upload too),
// fileGetLimits, fileDownload and fileDelete (with fileId), each with the
// participant's secureKey. The chat is the one a session of this server is
// attached to with that secureKey, or else the one chatId names. The answer
// is the chat API's, as the REST side gives it (a download's bytes and
// headers included). Its CORS is the chat API's own: no credentials.
func (sv *Server) FilesHandler(ctx *fasthttp.RequestCtx) {
	origin, answered := sv.cfg.CORS.Check(ctx)
	if answered {
		return
	}
	defer sv.cfg.CORS.Allow(ctx, origin)
	if err := sv.serveFile(ctx); err != nil {
		api.WriteError(ctx, "", err)
	}
}

func (sv *Server) serveFile(ctx *fasthttp.RequestCtx) error {
	if !ctx.IsPost() {
		return api.MethodNotAllowed("POST")
	}
	r, err := readNtf(ctx)
	if err != nil {
		return err
	}
	if r.operation == "" && r.file {
		r.operation = "fileUpload"
	}
	op, ok := fileOps[r.operation]
	switch {
	case !ok:
		return api.BadRequest("operation must be fileUpload, fileGetLimits, fileDownload or fileDelete")
	case r.secureKey == "":
		return api.Missing("secureKey")
	case op.needsID && r.fileID == "":
		return api.Missing("fileId")
	}
	ref, service, ok := sv.chatOfKey(r.secureKey)
	if !ok {
		if r.chatID == "" {
			return api.BadRequest("no CometD session of this server is attached to a chat with this secureKey: send chatId, or handshake and requestNotifications first")
		}
		ref, service = chatRef{chatID: r.chatID, userID: r.userID, secureKey: r.secureKey}, ntfService
	}
	path := chatPath(service, url.PathEscape(ref.chatID), "file")
	if op.needsID {
		path += "/" + url.PathEscape(r.fileID)
	}
	c := &restCall{path: path + op.tail, token: api.BearerToken(ctx), remote: ctx.RemoteAddr(),
		requestID: string(ctx.Request.Header.Peek("X-Request-Id"))}
	if op.upload {
		c.body, c.contentType = ctx.PostBody(), ctx.Request.Header.ContentType()
	} else {
		c.form = credentials(ref)
	}
	var rc fasthttp.RequestCtx
	sv.do(c, &rc)
	rc.Response.CopyTo(&ctx.Response)
	return nil
}

// readNtf reads the fields of a request to api.ChatNtfPath that say what to
// do: from a multipart body (the file is not read), or a form-encoded one.
func readNtf(ctx *fasthttp.RequestCtx) (ntfRequest, error) {
	var r ntfRequest
	boundary, ok := api.MultipartBoundary(ctx.Request.Header.ContentType())
	if !ok {
		var args fasthttp.Args
		args.ParseBytes(ctx.PostBody())
		for k, v := range args.All() {
			if err := r.set(string(k), v); err != nil {
				return r, err
			}
		}
		return r, nil
	}
	mr := multipart.NewReader(bytes.NewReader(ctx.PostBody()), boundary)
	for parts := 0; ; parts++ {
		p, err := mr.NextRawPart()
		switch {
		case errors.Is(err, io.EOF):
			return r, nil
		case err != nil:
			return r, api.BadRequest("body is not valid multipart/form-data: %v", err)
		case parts == maxNtfParts:
			return r, api.BadRequest("more than %d parts in a multipart body", maxNtfParts)
		case p.FormName() == "file":
			r.file = true
			continue
		case r.field(p.FormName()) == nil:
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, maxNtfField+1))
		if err != nil {
			return r, api.BadRequest("field %s: %v", p.FormName(), err)
		}
		if err := r.set(p.FormName(), v); err != nil {
			return r, err
		}
	}
}

// set stores the field called key, if it is one of r's.
func (r *ntfRequest) set(key string, v []byte) error {
	dst := r.field(key)
	switch {
	case dst == nil:
		return nil
	case len(v) > maxNtfField:
		return api.TooLarge("field "+key, maxNtfField)
	}
	*dst = string(v)
	return nil
}

// chatOfKey returns the chat a session of this server is attached to with
// secureKey, and its service. Keys are compared in constant time: the
// search runs over every session's chats.
func (sv *Server) chatOfKey(key string) (chatRef, string, bool) {
	for _, s := range sv.all() {
		s.mu.Lock()
		for _, a := range s.chats {
			if subtle.ConstantTimeCompare([]byte(a.secureKey), []byte(key)) == 1 {
				ref, service := chatRef{a.chatID, a.userID, a.secureKey}, a.service
				s.mu.Unlock()
				return ref, service, true
			}
		}
		s.mu.Unlock()
	}
	return chatRef{}, "", false
}
