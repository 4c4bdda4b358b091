package api

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

// Limits of a multipart body besides the body's own size.
const (
	maxParts       = 256  // fields and the file
	maxPartHeaders = 8192 // bytes of one part's headers, as mime/multipart counts them
)

// Bounds of the body of an upload.
const (
	// UploadOverhead is the room an upload's body has besides its file: the
	// fields and the multipart framing.
	UploadOverhead = 64 << 10
	// MaxUploadBody bounds every upload body: a server holds it in memory.
	MaxUploadBody = 256 << 20
)

// UploadBody returns the largest body of an upload of a file of up to
// maxFile bytes, and whether that is within MaxUploadBody.
func UploadBody(maxFile int64) (int, bool) {
	if maxFile < 0 || maxFile > MaxUploadBody-UploadOverhead {
		return MaxUploadBody, false
	}
	return int(maxFile) + UploadOverhead, true
}

// ChatNtfPath is where GMS clients in CometD mode send file operations
// (GMS "notification mode"): a POST with operation, secureKey and the
// operation's fields, form encoded, or multipart with the file of an upload.
const ChatNtfPath = "/genesys/2/chat-ntf"

// IsUpload reports whether a request may be a file upload
// (POST /genesys/2/chat/{service}/{chatId}/file, or POST ChatNtfPath, any of
// whose operations may be one), the routes of the chat API whose body may be
// larger than the usual limit; uri is the request's path, or its request
// URI (a query is left out). It allocates nothing: servers call it for
// every request.
func IsUpload(method, uri []byte) bool {
	if string(method) != fasthttp.MethodPost {
		return false
	}
	path, _, _ := bytes.Cut(uri, []byte("?"))
	if string(path) == ChatNtfPath {
		return true
	}
	rest, ok := bytes.CutPrefix(path, []byte("/genesys/2/chat/"))
	rest = bytes.TrimSuffix(rest, []byte("/"))
	if !ok || bytes.Count(rest, []byte("/")) != 2 {
		return false
	}
	return bytes.HasSuffix(rest, []byte("/file")) && !bytes.HasPrefix(rest, []byte("/")) && !bytes.Contains(rest, []byte("//"))
}

// MultipartBoundary returns the boundary of a multipart/form-data
// Content-Type, and whether the header names one.
func MultipartBoundary(contentType []byte) (string, bool) {
	media, params, err := mime.ParseMediaType(string(contentType))
	if err != nil || media != "multipart/form-data" || params["boundary"] == "" {
		return "", false
	}
	return params["boundary"], true
}

// ParseMultipart reads a multipart/form-data body: its fields as ParseForm
// reads them, and one part named "file" with a file name as the upload's
// File. Parts of other names that carry files are refused. The body's own
// limit bounds the file; fields have their usual limits.
func ParseMultipart(body []byte, boundary string, maxMessage int) (*Request, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	r := &Request{}
	for parts := 0; ; parts++ {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return r, nil
		}
		if err != nil {
			return nil, BadRequest("body is not valid multipart/form-data: %v", err)
		}
		if parts == maxParts {
			return nil, BadRequest("more than %d parts in a multipart body", maxParts)
		}
		if err := r.setPart(p, len(body), maxMessage); err != nil {
			return nil, err
		}
	}
}

// setPart reads one part into r.
func (r *Request) setPart(p *multipart.Part, maxFile, maxMessage int) error {
	if len(p.Header) > 32 || headerSize(p) > maxPartHeaders {
		return BadRequest("a part's headers are too large")
	}
	name, file := p.FormName(), p.FileName()
	if name == "" {
		return BadRequest("a part has no form-data name")
	}
	if name != "file" || (file == "" && p.Header.Get("Content-Type") == "") {
		if file != "" {
			return BadRequest("part %q carries a file; only the part named file may", name)
		}
		v, err := readPart(p, maxMessage)
		if err != nil {
			return BadRequest("field %s: %v", name, err)
		}
		if len(v) > maxMessage {
			return TooLarge("field "+name, maxMessage)
		}
		return r.set(name, string(v), maxMessage)
	}
	if r.File != nil {
		return BadRequest("more than one file in an upload")
	}
	data, err := readPart(p, maxFile)
	if err != nil {
		return BadRequest("part file: %v", err)
	}
	r.File = &FilePart{Name: baseName(file), Type: p.Header.Get("Content-Type"), Data: data}
	return nil
}

// readPart reads a part's content, at most limit+1 bytes.
func readPart(p *multipart.Part, limit int) ([]byte, error) {
	return io.ReadAll(io.LimitReader(p, int64(limit)+1))
}

func headerSize(p *multipart.Part) int {
	n := 0
	for k, vs := range p.Header {
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	return n
}

// baseName returns a client's file name without any folder: browsers on
// some systems send the whole path.
func baseName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" {
		return ""
	}
	return name
}
