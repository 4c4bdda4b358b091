package chatnode

import (
	"fmt"
	"strings"
)

// The HA options that take one word (or number) of a fixed set are typed:
// each has String and UnmarshalText, so flag.TextVar and the config loader
// reject a bad value at load, naming the option.

// RestorationMode is session-restoration-mode.
type RestorationMode uint8

// Values of session-restoration-mode.
const (
	RestoreNone   RestorationMode = iota + 1 // never restore
	RestoreSimple                            // restore chats this node does not hold
)

// AutoSave is transcript-auto-save.
type AutoSave uint8

// Values of transcript-auto-save.
const (
	AutoSaveAtEnd  AutoSave = iota // 0: save only at the end (no HA)
	AutoSaveAppend                 // 1: append every event before it is acknowledged
	AutoSaveNotify                 // 2: as 1, and a Notice when saving fails and works again
)

// Appends reports whether every event is appended before it is acknowledged.
func (a AutoSave) Appends() bool { return a >= AutoSaveAppend }

// Notifies reports whether clients get a Notice when saving fails and recovers.
func (a AutoSave) Notifies() bool { return a == AutoSaveNotify }

// SaveOnError is transcript-save-on-error.
type SaveOnError uint8

// Values of transcript-save-on-error.
const (
	OnErrorClose    SaveOnError = iota + 1 // close the chat
	OnErrorContinue                        // keep going in memory
)

// SaveNotices is transcript-save-notices.
type SaveNotices uint8

// Values of transcript-save-notices.
const (
	NoticesNone  SaveNotices = iota + 1 // persist no notices
	NoticesMajor                        // persist notices but typing
	NoticesAll                          // persist everything
)

// RestoreNotices is restore-notices.
type RestoreNotices uint8

// Values of restore-notices.
const (
	RestoreNoticesParticipants RestoreNotices = iota + 1 // each participant leaves and joins again
	RestoreNoticesNotice                                 // one Notice
	RestoreNoticesNone                                   // nothing visible
)

// choices are the words of an option, by value.
type choices struct {
	option string
	words  []string // words[v] spells value v; "" is no value
}

var (
	restorationChoices    = choices{"session-restoration-mode", []string{RestoreNone: "none", RestoreSimple: "simple"}}
	autoSaveChoices       = choices{"transcript-auto-save", []string{AutoSaveAtEnd: "0", AutoSaveAppend: "1", AutoSaveNotify: "2"}}
	saveOnErrorChoices    = choices{"transcript-save-on-error", []string{OnErrorClose: "close", OnErrorContinue: "continue"}}
	saveNoticesChoices    = choices{"transcript-save-notices", []string{NoticesNone: "none", NoticesMajor: "major", NoticesAll: "all"}}
	restoreNoticesChoices = choices{"restore-notices", []string{RestoreNoticesParticipants: "participants", RestoreNoticesNotice: "notice", RestoreNoticesNone: "none"}}
)

func (c choices) word(v uint8) string {
	if int(v) < len(c.words) && c.words[v] != "" {
		return c.words[v]
	}
	return fmt.Sprintf("%s(%d)", c.option, v)
}

func (c choices) check(v uint8) error {
	if int(v) < len(c.words) && c.words[v] != "" {
		return nil
	}
	return fmt.Errorf("%s is %d, want %s", c.option, v, c.want())
}

// parse returns the value word spells.
func (c choices) parse(word []byte) (uint8, error) {
	for v, w := range c.words {
		if w != "" && w == strings.TrimSpace(string(word)) {
			return uint8(v), nil
		}
	}
	return 0, fmt.Errorf("%s is %q, want %s", c.option, word, c.want())
}

func (c choices) want() string {
	var ws []string
	for _, w := range c.words {
		if w != "" {
			ws = append(ws, w)
		}
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " or " + ws[len(ws)-1]
}

// unmarshal sets *dst to the value word spells.
func unmarshal[T ~uint8](dst *T, c choices, word []byte) error {
	v, err := c.parse(word)
	if err == nil {
		*dst = T(v)
	}
	return err
}

// String returns the option's word.
func (m RestorationMode) String() string { return restorationChoices.word(uint8(m)) }

// MarshalText returns the option's word.
func (m RestorationMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads the option's word.
func (m *RestorationMode) UnmarshalText(b []byte) error { return unmarshal(m, restorationChoices, b) }

func (m RestorationMode) check() error { return restorationChoices.check(uint8(m)) }

// String returns the option's number.
func (a AutoSave) String() string { return autoSaveChoices.word(uint8(a)) }

// MarshalText returns the option's number.
func (a AutoSave) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads the option's number.
func (a *AutoSave) UnmarshalText(b []byte) error { return unmarshal(a, autoSaveChoices, b) }

func (a AutoSave) check() error { return autoSaveChoices.check(uint8(a)) }

// String returns the option's word.
func (o SaveOnError) String() string { return saveOnErrorChoices.word(uint8(o)) }

// MarshalText returns the option's word.
func (o SaveOnError) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads the option's word.
func (o *SaveOnError) UnmarshalText(b []byte) error { return unmarshal(o, saveOnErrorChoices, b) }

func (o SaveOnError) check() error { return saveOnErrorChoices.check(uint8(o)) }

// String returns the option's word.
func (n SaveNotices) String() string { return saveNoticesChoices.word(uint8(n)) }

// MarshalText returns the option's word.
func (n SaveNotices) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText reads the option's word.
func (n *SaveNotices) UnmarshalText(b []byte) error { return unmarshal(n, saveNoticesChoices, b) }

func (n SaveNotices) check() error { return saveNoticesChoices.check(uint8(n)) }

// String returns the option's word.
func (r RestoreNotices) String() string { return restoreNoticesChoices.word(uint8(r)) }

// MarshalText returns the option's word.
func (r RestoreNotices) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads the option's word.
func (r *RestoreNotices) UnmarshalText(b []byte) error { return unmarshal(r, restoreNoticesChoices, b) }

func (r RestoreNotices) check() error { return restoreNoticesChoices.check(uint8(r)) }
