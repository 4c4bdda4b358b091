package chat

import "strconv"

// Keys of what a file event says of its file, in Entry.Data and
// Event.UserData, as GMS clients read them.
const (
	FileID   = "file-id"
	FileName = "file-name"
	FileSize = "file-size"
	FileType = "file-type"
)

// File is a file uploaded to a chat, as its events tell it. The bytes are
// in the store (Files).
type File struct {
	// ID is the file's id in the chat.
	ID string
	// Name is the name the uploader gave it.
	Name string
	// Type is its content type.
	Type string
	// Size is its length in bytes.
	Size int64
	// From is the participant who uploaded it.
	From int
	// Deleted is true once it was deleted.
	Deleted   bool
	downloads map[int]int // participant -> downloads
}

// Downloads returns how often participant p downloaded the file.
func (f *File) Downloads(p int) int { return f.downloads[p] }

// FileData returns what a FileUploaded entry says of f.
func (f *File) FileData() map[string]string {
	return map[string]string{FileID: f.ID, FileName: f.Name, FileSize: strconv.FormatInt(f.Size, 10), FileType: f.Type}
}

func fileOf(e Entry) *File {
	size, _ := strconv.ParseInt(e.Data[FileSize], 10, 64)
	return &File{ID: e.Data[FileID], Name: e.Data[FileName], Type: e.Data[FileType], Size: size, From: e.From}
}

// applyFile changes the chat's files by a file entry.
func (s *Session) applyFile(e Entry) {
	switch e.Type {
	case EventFileUploaded:
		f := fileOf(e)
		if f.ID != "" && s.File(f.ID) == nil {
			s.files = append(s.files, f)
		}
	case EventFileDeleted:
		if f := s.File(e.Data[FileID]); f != nil {
			f.Deleted = true
		}
	case EventFileDownloaded:
		if f := s.File(e.Data[FileID]); f != nil {
			if f.downloads == nil {
				f.downloads = map[int]int{}
			}
			f.downloads[e.From]++
		}
	}
}

// File returns the chat's file with id, deleted or not, or nil.
func (s *Session) File(id string) *File {
	for _, f := range s.files {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// Files returns every file uploaded to the chat, in upload order, the
// deleted ones too. The slice is the session's: do not change it.
func (s *Session) Files() []*File { return s.files }

// Uploaded returns the id of the file the request with id requestID
// uploaded, or "".
func (s *Session) Uploaded(requestID string) string { return s.uploads[requestID] }

// RememberUpload records that the request with id requestID uploaded file
// fileID, so that the request retried is answered with it.
func (s *Session) RememberUpload(requestID, fileID string) {
	if requestID == "" || fileID == "" {
		return
	}
	if s.uploads == nil {
		s.uploads = map[string]string{}
	}
	s.uploads[requestID] = fileID
}
