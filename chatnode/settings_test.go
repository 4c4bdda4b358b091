package chatnode_test

import (
	"encoding"
	"reflect"
	"strings"
	"testing"

	"github.com/chatha/chatha/chatnode"
)

// TestSettingsText: every typed option reads back what it writes, and a bad
// value is refused with the option's name.
func TestSettingsText(t *testing.T) {
	s := chatnode.DefaultSettings()
	for name, v := range map[string]interface {
		encoding.TextMarshaler
		encoding.TextUnmarshaler
	}{
		"session-restoration-mode": &s.RestorationMode,
		"transcript-auto-save":     &s.AutoSave,
		"transcript-save-on-error": &s.SaveOnError,
		"transcript-save-notices":  &s.SaveNotices,
		"restore-notices":          &s.RestoreNotices,
	} {
		word, _ := v.MarshalText()
		if err := v.UnmarshalText(word); err != nil {
			t.Errorf("%s: %q does not read back: %v", name, word, err)
		}
		if err := v.UnmarshalText([]byte("7")); err == nil || !strings.HasPrefix(err.Error(), name+" is ") {
			t.Errorf("%s: a bad value gives %v", name, err)
		}
	}
	if !reflect.DeepEqual(s, chatnode.DefaultSettings()) {
		t.Fatalf("a refused value changed the settings: %+v", s)
	}
	if !s.AutoSave.Appends() || s.AutoSave.Notifies() || chatnode.AutoSaveAtEnd.Appends() || !chatnode.AutoSaveNotify.Notifies() {
		t.Fatal("AutoSave predicates are wrong")
	}
	s.SaveNotices = 0
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "transcript-save-notices") {
		t.Fatalf("Validate of an unset option: %v", err)
	}
}

// TestFileSettings: the file options are checked at start, each by its name.
func TestFileSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*chatnode.Settings)
		want string // "" for valid
	}{
		{"defaults", func(*chatnode.Settings) {}, ""},
		{"file transfer off", func(s *chatnode.Settings) { s.UploadMaxFiles, s.UploadFileTypes = 0, "" }, ""},
		{"no file size", func(s *chatnode.Settings) { s.UploadMaxFileSize = 0 }, "upload-max-file-size"},
		{"a file larger than a body may be", func(s *chatnode.Settings) { s.UploadMaxFileSize = 1 << 40 }, "upload-max-file-size"},
		{"a total under one file", func(s *chatnode.Settings) { s.UploadMaxTotalSize = 1 }, "upload-max-total-size"},
		{"negative count", func(s *chatnode.Settings) { s.UploadMaxFiles = -1 }, "upload-max-files"},
		{"negative downloads", func(s *chatnode.Settings) { s.DownloadAttempts = -1 }, "download-attempts"},
		{"no types", func(s *chatnode.Settings) { s.UploadFileTypes = "" }, "upload-file-types"},
		{"a type with a slash", func(s *chatnode.Settings) { s.UploadFileTypes = "png:x/y" }, "upload-file-types"},
		{"types with dots and capitals", func(s *chatnode.Settings) { s.UploadFileTypes = ".PNG:.pdf" }, ""},
	} {
		s := chatnode.DefaultSettings()
		tc.edit(&s)
		err := s.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Validate() = %v, want %q", tc.name, err, tc.want)
		}
	}
}
