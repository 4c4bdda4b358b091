package chatnode

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
)

// Files: a participant uploads a file (multipart, part "file") to a chat;
// the node checks it against the limits (upload-*), writes it to the chat's
// store (chat.Files), and only then appends the FileUploaded event, fenced
// like any other: an acknowledged upload is durable, and a refused or failed
// one leaves nothing any participant can read (the bytes of an upload whose
// event could not be appended are deleted again, and expire with the chat
// otherwise). Downloads and deletions are events too (FileDownloaded,
// internal, counts download-attempts through restores; FileDeleted), so a
// file uploaded before a failover downloads after it from the new owner.

// fileType is how files of one extension are checked and served.
type fileType struct {
	serve string   // Content-Type of a download
	sniff []string // media types http.DetectContentType may find in such a file
}

// fileTypes are the extensions whose content is checked: an upload of one
// must sniff as its type. Files of other allowed extensions are served as
// application/octet-stream and refused only when they sniff as a web page.
var fileTypes = map[string]fileType{
	"jpg":  {"image/jpeg", []string{"image/jpeg"}},
	"jpeg": {"image/jpeg", []string{"image/jpeg"}},
	"png":  {"image/png", []string{"image/png"}},
	"gif":  {"image/gif", []string{"image/gif"}},
	"webp": {"image/webp", []string{"image/webp"}},
	"bmp":  {"image/bmp", []string{"image/bmp"}},
	"pdf":  {"application/pdf", []string{"application/pdf"}},
	"txt":  {"text/plain; charset=utf-8", []string{"text/plain"}},
	"csv":  {"text/csv; charset=utf-8", []string{"text/plain"}},
	"zip":  {"application/zip", []string{"application/zip"}},
	"docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", []string{"application/zip"}},
	"xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", []string{"application/zip"}},
	"pptx": {"application/vnd.openxmlformats-officedocument.presentationml.presentation", []string{"application/zip"}},
	"mp3":  {"audio/mpeg", []string{"audio/mpeg"}},
	"mp4":  {"video/mp4", []string{"video/mp4"}},
	"wav":  {"audio/wav", []string{"audio/wave"}},
}

// webPages are sniffed media types never accepted: a browser would run them.
var webPages = []string{"text/html", "text/xml"}

// validateFiles checks the file options.
func (s Settings) validateFiles() error {
	switch {
	case s.UploadMaxFileSize < 1:
		return fmt.Errorf("upload-max-file-size is %d, want 1 or more", s.UploadMaxFileSize)
	case !uploadFits(s.UploadMaxFileSize):
		return fmt.Errorf("upload-max-file-size is %d, want at most %d", s.UploadMaxFileSize, api.MaxUploadBody-api.UploadOverhead)
	case s.UploadMaxFiles < 0:
		return fmt.Errorf("upload-max-files is %d, want 0 or more", s.UploadMaxFiles)
	case s.UploadMaxTotalSize < s.UploadMaxFileSize:
		return fmt.Errorf("upload-max-total-size is %d, want at least upload-max-file-size (%d)", s.UploadMaxTotalSize, s.UploadMaxFileSize)
	case s.DownloadAttempts < 0:
		return fmt.Errorf("download-attempts is %d, want 0 or more", s.DownloadAttempts)
	}
	types := s.fileTypes()
	if len(types) == 0 && s.UploadMaxFiles > 0 {
		return errors.New("upload-file-types is empty, want extensions like jpg:png:pdf")
	}
	for _, t := range types {
		if t == "" || strings.ContainsFunc(t, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			return fmt.Errorf("upload-file-types has %q, want extensions of letters and digits, colon separated", t)
		}
	}
	return nil
}

func uploadFits(size int64) bool {
	_, ok := api.UploadBody(size)
	return ok
}

// fileTypes returns upload-file-types as a list, in lower case.
func (s Settings) fileTypes() []string {
	if strings.TrimSpace(s.UploadFileTypes) == "" {
		return nil
	}
	types := strings.Split(strings.ToLower(s.UploadFileTypes), ":")
	for i := range types {
		types[i] = strings.TrimPrefix(strings.TrimSpace(types[i]), ".")
	}
	return types
}

// MaxUploadBody is the largest body of an upload request: the largest file
// and room for the fields around it (api.UploadBody). Only the upload route
// takes a body larger than MaxBodySize.
func (c Config) MaxUploadBody() int {
	n, _ := api.UploadBody(c.Settings.UploadMaxFileSize)
	return n
}

// filesOn reports whether the node takes uploads: file transfer is on, and
// chats are stored as they go (their files need a live chat in the store).
func (n *Node) filesOn() bool {
	return n.cfg.Settings.UploadMaxFiles > 0 && n.cfg.Settings.AutoSave.Appends()
}

// checkFile checks an upload's name, size and type, and returns the
// Content-Type it is served with.
func (n *Node) checkFile(f *api.FilePart) (string, error) {
	st := n.cfg.Settings
	name := f.Name
	switch {
	case name == "" || name == "." || name == "..":
		return "", api.BadRequest("the file has no name")
	case len(name) > 255 || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return "", api.BadRequest("the file name must be at most 255 bytes of UTF-8 text")
	case len(f.Data) == 0:
		return "", api.BadRequest("the file is empty")
	case int64(len(f.Data)) > st.UploadMaxFileSize:
		return "", api.FilesTooLarge("the file", st.UploadMaxFileSize)
	}
	allowed := strings.Join(st.fileTypes(), ":")
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		ext = strings.ToLower(name[i+1:])
	}
	if ext == "" || !strings.Contains(":"+allowed+":", ":"+ext+":") {
		return "", api.FileTypeRefused(fmt.Sprintf("files of type %q are not allowed", ext), allowed)
	}
	sniffed, _, _ := strings.Cut(http.DetectContentType(f.Data), ";")
	t, known := fileTypes[ext]
	switch {
	case known && !slices.Contains(t.sniff, sniffed):
		return "", api.FileTypeRefused(fmt.Sprintf("the file's content is %s, not a .%s file", sniffed, ext), allowed)
	case known:
		return t.serve, nil
	case slices.Contains(webPages, sniffed):
		return "", api.FileTypeRefused("the file's content is a web page", allowed)
	}
	return "application/octet-stream", nil
}

// serveFile handles the file routes of a chat:
// .../{chatId}/file, .../file/limits, .../file/{fileId}/download and .../file/{fileId}/delete.
func (n *Node) serveFile(ctx *fasthttp.RequestCtx, c context.Context, id string, rest []string, req *api.Request, reqID string) error {
	var resp *api.Answer
	var err error
	switch {
	case len(rest) == 0:
		resp, err = n.upload(c, id, req, reqID)
	case len(rest) == 1 && rest[0] == "limits":
		resp, err = n.fileLimits(c, id, req)
	case len(rest) == 2 && rest[1] == "download":
		return n.download(ctx, c, id, rest[0], req, reqID)
	case len(rest) == 2 && rest[1] == "delete":
		resp, err = n.deleteFile(c, id, rest[0], req, reqID)
	default:
		return api.ErrNotFound
	}
	if err != nil {
		return err
	}
	api.WriteJSON(ctx, http.StatusOK, resp)
	return nil
}

// fileRequest is how a file request is known for retries: its action
// names the file, so one request id cannot stand for two files.
func fileRequest(reqID string, req *api.Request, action string, p *chat.Participant) request {
	if reqID == "" {
		return request{}
	}
	return request{id: reqID, print: req.Fingerprint(action, p.ID)}
}

// upload stores an uploaded file, then appends its FileUploaded event; the
// answer's userData holds its file id. A retried upload is answered with
// the file it stored.
func (n *Node) upload(ctx context.Context, id string, req *api.Request, reqID string) (*api.Answer, error) {
	if !n.filesOn() {
		return nil, api.ErrFilesOff
	}
	if req.File == nil {
		return nil, api.Missing("file")
	}
	contentType, err := n.checkFile(req.File)
	if err != nil {
		return nil, err
	}
	var resp *api.Answer
	err = n.withSession(ctx, id, participantAuth(req), func(s *session, p *chat.Participant) error {
		p.LastSeen = n.now()
		r := fileRequest(reqID, req, "upload", p)
		var stored string // the file this attempt wrote
		put := func(n *Node, s *session, p *chat.Participant, req *api.Request) ([]chat.Entry, error) {
			if err := n.mayUpload(s, p, int64(len(req.File.Data))); err != nil {
				return nil, err
			}
			fileID, err := n.newSecret(8)
			if err != nil {
				return nil, err
			}
			if err := n.putFile(ctx, s, fileID, req.File.Data); err != nil {
				return nil, err
			}
			stored = fileID
			f := chat.File{ID: fileID, Name: req.File.Name, Type: contentType, Size: int64(len(req.File.Data))}
			return []chat.Entry{{Type: chat.EventFileUploaded, From: p.ID, Data: f.FileData()}}, nil
		}
		if err := n.change(ctx, s, p, put, req, r); err != nil {
			if stored != "" {
				n.dropFile(s.ID, stored)
			}
			return err
		}
		resp = n.reply(s, p, req.Position(0))
		resp.UserData = map[string]string{chat.FileID: cmp.Or(stored, s.Uploaded(r.id))}
		return nil
	})
	return resp, err
}

// mayUpload checks that p may upload a file of size to s now.
func (n *Node) mayUpload(s *session, p *chat.Participant, size int64) error {
	st := n.cfg.Settings
	files, total := liveFiles(s)
	switch {
	case st.UploadNeedAgent && s.WaitingForAgent():
		return api.ErrNeedAgent
	case files >= st.UploadMaxFiles:
		return api.TooManyFiles(st.UploadMaxFiles)
	case total+size > st.UploadMaxTotalSize:
		return api.FilesTooLarge("the files of this chat", st.UploadMaxTotalSize)
	}
	return nil
}

// liveFiles returns how many files the chat holds, and their bytes; deleted
// files do not count.
func liveFiles(s *session) (int, int64) {
	files, total := 0, int64(0)
	for _, f := range s.Files() {
		if !f.Deleted {
			files++
			total += f.Size
		}
	}
	return files, total
}

// putFile writes a file's bytes to the store, with the configured retries.
func (n *Node) putFile(ctx context.Context, s *session, fileID string, data []byte) error {
	err := n.retry(ctx, func(c context.Context) error { return n.cfg.Store.PutFile(c, s.ID, fileID, data) }, chat.IsLost)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, chat.ErrUnknownChat):
		return api.ErrEnded
	}
	n.log.Warn("cannot store a file", "chat", s.ID, "err", err)
	return api.StoreFailed(err)
}

// dropFile deletes the bytes of a file no event refers to, or of one
// deleted, in the background; what cannot be deleted goes with the chat.
func (n *Node) dropFile(chatID, fileID string) {
	n.wg.Go(func() {
		err := n.retry(context.Background(), func(c context.Context) error { return n.cfg.Store.DeleteFile(c, chatID, fileID) }, never)
		if err != nil {
			n.log.Warn("cannot delete the bytes of a file; they go with the chat", "chat", chatID, "err", err)
		}
	})
}

// fileLimits answers with the chat's file limits, and what of them the chat
// and the participant have used, as GMS does: one Notice outside the
// transcript (no index), text file-client-cfg-get, the limits in its
// userData as strings.
func (n *Node) fileLimits(ctx context.Context, id string, req *api.Request) (*api.Answer, error) {
	var resp *api.Answer
	err := n.withSession(ctx, id, participantAuth(req), func(s *session, p *chat.Participant) error {
		p.LastSeen = n.now()
		resp = n.reply(s, p, req.Position(0))
		resp.Messages = append(resp.Messages, chat.Message{
			From: chat.Author{Nickname: p.Nick, ParticipantID: p.ID, Type: p.Type.String()},
			Type: chat.EventNotice.String(), Text: "file-client-cfg-get", UTCTime: n.now().UnixMilli(),
			UserData: n.limits(s, p),
		})
		return nil
	})
	return resp, err
}

// limits returns the file limits of s and what p and the chat used of them.
func (n *Node) limits(s *session, p *chat.Participant) map[string]string {
	st := n.cfg.Settings
	files, total := liveFiles(s)
	downloads := 0
	for _, f := range s.Files() {
		downloads += f.Downloads(p.ID)
	}
	maxFiles := st.UploadMaxFiles
	if !n.filesOn() {
		maxFiles = 0
	}
	return map[string]string{
		"upload-max-file-size":       strconv.FormatInt(st.UploadMaxFileSize, 10),
		"upload-max-files":           strconv.Itoa(maxFiles),
		"upload-max-total-size":      strconv.FormatInt(st.UploadMaxTotalSize, 10),
		"upload-file-types":          strings.Join(st.fileTypes(), ":"),
		"upload-need-agent":          strconv.FormatBool(st.UploadNeedAgent),
		"used-upload-max-files":      strconv.Itoa(files),
		"used-upload-max-total-size": strconv.FormatInt(total, 10),
		"download-attempts":          strconv.Itoa(st.DownloadAttempts),
		"used-download-attempts":     strconv.Itoa(downloads),
		"delete-file":                "true",
	}
}

// download answers with a file's bytes, as an attachment. Each download is
// counted (an internal FileDownloaded event) before the bytes go out; a
// download retried with its request id is not counted again.
func (n *Node) download(rctx *fasthttp.RequestCtx, ctx context.Context, id, fileID string, req *api.Request, reqID string) error {
	var (
		file chat.File
		data []byte
		read bool
	)
	fetch := func(s *session) error {
		f := s.File(fileID)
		if f == nil || f.Deleted {
			return api.ErrUnknownFile
		}
		var err error
		if data, err = n.readFile(ctx, s, fileID); err != nil {
			return err
		}
		file, read = *f, true
		return nil
	}
	err := n.withSession(ctx, id, participantAuth(req), func(s *session, p *chat.Participant) error {
		p.LastSeen = n.now()
		count := func(n *Node, s *session, p *chat.Participant, _ *api.Request) ([]chat.Entry, error) {
			if f := s.File(fileID); f != nil && n.cfg.Settings.DownloadAttempts > 0 && f.Downloads(p.ID) >= n.cfg.Settings.DownloadAttempts {
				return nil, api.ErrDownloadsUsed
			}
			if err := fetch(s); err != nil {
				return nil, err
			}
			return []chat.Entry{{Type: chat.EventFileDownloaded, From: p.ID, Data: map[string]string{chat.FileID: fileID}}}, nil
		}
		if err := n.change(ctx, s, p, count, req, fileRequest(reqID, req, "download "+fileID, p)); err != nil || read {
			return err
		}
		return fetch(s) // a retried download
	})
	if err != nil {
		return err
	}
	writeFile(rctx, file, data)
	return nil
}

// readFile reads a file's bytes from the store.
func (n *Node) readFile(ctx context.Context, s *session, fileID string) ([]byte, error) {
	var data []byte
	err := n.retry(ctx, func(c context.Context) (err error) {
		data, err = n.cfg.Store.ReadFile(c, s.ID, fileID)
		return err
	}, func(err error) bool { return chat.IsLost(err) || errors.Is(err, chat.ErrUnknownFile) })
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, chat.ErrUnknownFile):
		n.log.Warn("a file of the chat's events is not in the store", "chat", s.ID)
		return nil, api.ErrUnknownFile
	case errors.Is(err, chat.ErrUnknownChat):
		return nil, api.ErrEnded
	}
	return nil, api.StoreFailed(err)
}

// writeFile answers with a file as an attachment: its type from its
// extension (never what the uploader declared), its name encoded safely,
// and no sniffing or caching by the browser.
func writeFile(ctx *fasthttp.RequestCtx, f chat.File, data []byte) {
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": f.Name})
	if disposition == "" {
		disposition = "attachment"
	}
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType(cmp.Or(f.Type, "application/octet-stream"))
	h := &ctx.Response.Header
	h.Set("Content-Disposition", disposition)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	ctx.SetBody(data)
}

// deleteFile deletes a file: its uploader or an agent may. The FileDeleted
// event goes first; the bytes are deleted after it.
func (n *Node) deleteFile(ctx context.Context, id, fileID string, req *api.Request, reqID string) (*api.Answer, error) {
	var resp *api.Answer
	err := n.withSession(ctx, id, participantAuth(req), func(s *session, p *chat.Participant) error {
		p.LastSeen = n.now()
		del := func(_ *Node, s *session, p *chat.Participant, _ *api.Request) ([]chat.Entry, error) {
			f := s.File(fileID)
			switch {
			case f == nil || f.Deleted:
				return nil, api.ErrUnknownFile
			case f.From != p.ID && p.Type != chat.PartyAgent:
				return nil, api.ErrNotYours
			}
			return []chat.Entry{{Type: chat.EventFileDeleted, From: p.ID, Data: map[string]string{chat.FileID: f.ID, chat.FileName: f.Name}}}, nil
		}
		if err := n.change(ctx, s, p, del, req, fileRequest(reqID, req, "delete "+fileID, p)); err != nil {
			return err
		}
		n.dropFile(s.ID, fileID)
		resp = n.reply(s, p, req.Position(0))
		return nil
	})
	return resp, err
}

// fileTimeout bounds the store calls of one file request: a file is larger
// than an event.
func (n *Node) fileTimeout() time.Duration { return 4 * n.cfg.StoreTimeout }
