package chatnode_test

import (
	"encoding"
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
	if s != chatnode.DefaultSettings() {
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
