package chatnode

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Values of the HA options that take a word.
const (
	RestoreNone   = "none"   // session-restoration-mode: never restore
	RestoreSimple = "simple" // session-restoration-mode: restore chats this node does not hold

	OnErrorClose    = "close"    // transcript-save-on-error: close the chat
	OnErrorContinue = "continue" // transcript-save-on-error: keep going in memory

	NoticesNone  = "none"  // transcript-save-notices: persist no notices
	NoticesMajor = "major" // transcript-save-notices: persist notices but typing
	NoticesAll   = "all"   // transcript-save-notices: persist everything

	RestoreNoticesParticipants = "participants" // restore-notices: each participant leaves and joins again
	RestoreNoticesNotice       = "notice"       // restore-notices: one Notice
	RestoreNoticesNone         = "none"         // restore-notices: nothing visible
)

// Settings are the HA options of a node (config section "settings").
type Settings struct {
	// RestorationMode is session-restoration-mode: none or simple (default simple).
	RestorationMode string
	// AutoSave is transcript-auto-save: 0 saves only at the end, 1 appends every
	// event before it is acknowledged, 2 also sends Notices on save failure and recovery (default 1).
	AutoSave int
	// SaveOnError is transcript-save-on-error: close or continue (default close).
	SaveOnError string
	// ResendAttempts is transcript-resend-attempts: retries of a failed append (default 3).
	ResendAttempts int
	// ResendDelay is transcript-resend-delay: the pause between retries (default 200ms).
	ResendDelay time.Duration
	// SaveNotices is transcript-save-notices: none, major or all (default major).
	SaveNotices string
	// RestoreDoPurge is session-restore-do-purge: after a restore, ask the old owner to purge (default true).
	RestoreDoPurge bool
	// RestoreNotices is restore-notices: participants, notice or none (default participants).
	RestoreNotices string
	// FlexDisconnectTimeout is flex-disconnect-timeout: a participant silent this long is disconnected (default 45s; 0 is off).
	FlexDisconnectTimeout time.Duration
	// InactivityEnabled is inactivity-control-enabled (default false).
	InactivityEnabled bool
	// InactivityAlert is inactivity-control-timeout-alert: no message this long sends an IdleAlert (default 255s).
	InactivityAlert time.Duration
	// InactivityAlert2 is inactivity-control-timeout-alert2: a second IdleAlert this long after the first (default 0, off).
	InactivityAlert2 time.Duration
	// InactivityClose is inactivity-control-timeout-close: the chat closes this long after the last alert (default 45s).
	InactivityClose time.Duration
	// LimitForSessions is limit-for-sessions: at this many live chats the node is full (default 1000).
	LimitForSessions int
	// LimitsRestoreThreshold is limits-restore-threshold: a full node is active again below this percentage of the limit (default 80).
	LimitsRestoreThreshold int
}

// DefaultSettings returns the documented defaults of the HA options.
func DefaultSettings() Settings {
	return Settings{
		RestorationMode:        RestoreSimple, // any node can take over any chat
		AutoSave:               1,             // nothing is acknowledged before it is stored
		SaveOnError:            OnErrorClose,  // never acknowledge what cannot be restored
		ResendAttempts:         3,             // rides out a store leader change
		ResendDelay:            200 * time.Millisecond,
		SaveNotices:            NoticesMajor, // typing is too chatty to store
		RestoreDoPurge:         true,         // frees the old owner's memory early
		RestoreNotices:         RestoreNoticesParticipants,
		FlexDisconnectTimeout:  45 * time.Second, // a closed browser tab leaves the chat
		InactivityAlert:        255 * time.Second,
		InactivityClose:        45 * time.Second,
		LimitForSessions:       1000,
		LimitsRestoreThreshold: 80,
	}
}

// Validate reports the first option that is out of range, by its config name.
func (s Settings) Validate() error {
	switch {
	case s.RestorationMode != RestoreNone && s.RestorationMode != RestoreSimple:
		return fmt.Errorf("session-restoration-mode is %q, want none or simple", s.RestorationMode)
	case s.AutoSave < 0 || s.AutoSave > 2:
		return fmt.Errorf("transcript-auto-save is %d, want 0, 1 or 2", s.AutoSave)
	case s.SaveOnError != OnErrorClose && s.SaveOnError != OnErrorContinue:
		return fmt.Errorf("transcript-save-on-error is %q, want close or continue", s.SaveOnError)
	case s.ResendAttempts < 0:
		return fmt.Errorf("transcript-resend-attempts is %d, want 0 or more", s.ResendAttempts)
	case s.ResendDelay < 0:
		return errors.New("transcript-resend-delay is negative")
	case s.SaveNotices != NoticesNone && s.SaveNotices != NoticesMajor && s.SaveNotices != NoticesAll:
		return fmt.Errorf("transcript-save-notices is %q, want none, major or all", s.SaveNotices)
	case s.RestoreNotices != RestoreNoticesParticipants && s.RestoreNotices != RestoreNoticesNotice && s.RestoreNotices != RestoreNoticesNone:
		return fmt.Errorf("restore-notices is %q, want participants, notice or none", s.RestoreNotices)
	case s.FlexDisconnectTimeout < 0 || s.InactivityAlert < 0 || s.InactivityAlert2 < 0 || s.InactivityClose < 0:
		return errors.New("flex-disconnect-timeout and inactivity-control timeouts must not be negative")
	case s.InactivityEnabled && s.InactivityAlert == 0:
		return errors.New("inactivity-control-timeout-alert must be positive when inactivity control is enabled")
	case s.LimitForSessions < 1:
		return fmt.Errorf("limit-for-sessions is %d, want 1 or more", s.LimitForSessions)
	case s.LimitsRestoreThreshold < 1 || s.LimitsRestoreThreshold > 100:
		return fmt.Errorf("limits-restore-threshold is %d, want 1 to 100", s.LimitsRestoreThreshold)
	}
	return nil
}

// Config configures a Node.
type Config struct {
	// Name is the node's stable name; it is the alias clients see.
	Name string
	// Incarnation tells this process apart from earlier ones of the same name
	// (default: start time in µs, which JSON clients read exactly: under 2^53).
	Incarnation uint64
	// Settings are the HA options.
	Settings Settings
	// Store keeps sessions and transcripts. Required.
	Store Store
	// ClusterToken guards the admin API; empty leaves it open.
	ClusterToken string
	// AgentToken guards the agent API; empty leaves it open.
	AgentToken string
	// MaxBodySize is the largest request body in bytes (default 64 KiB).
	MaxBodySize int
	// MaxMessageSize is the largest message text in bytes (default 16 KiB).
	MaxMessageSize int
	// StoreTimeout bounds each store call (default 5s).
	StoreTimeout time.Duration
	// EndedRetention is how long an ended chat stays in memory to answer refreshes (default 60s).
	EndedRetention time.Duration
	// SweepInterval is how often idle and silent participants are checked (default 1s).
	SweepInterval time.Duration
	// PauseThreshold is the gap in the node's own running after which it
	// verifies every held chat against the store (default 250ms). It must be
	// shorter than the gossip layer takes to declare a stopped node dead, or
	// a node paused that long serves its first requests before it learns.
	PauseThreshold time.Duration
	// PurgeTimeout bounds the wait for the previous owner's purge after a restore (default 300ms).
	PurgeTimeout time.Duration
	// Purge asks a chat's previous owner to drop it after a restore; nil does nothing.
	Purge func(ctx context.Context, owner, chatID string) error
	// Logger receives the node's logs (default slog.Default()).
	Logger *slog.Logger
	// Metrics receives the node's metrics (default a new set).
	Metrics *metrics.Set
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of ids and secure keys (default crypto/rand.Reader).
	Rand io.Reader
}

// DefaultConfig returns a Config with every default filled in, for a node named name on store.
func DefaultConfig(name string, store Store) Config {
	return Config{
		Name:           name,
		Settings:       DefaultSettings(),
		Store:          store,
		MaxBodySize:    64 << 10,               // a chat message is text; bigger bodies are abuse
		MaxMessageSize: 16 << 10,               // long pasted text fits, a file does not
		StoreTimeout:   5 * time.Second,        // longer than a store failover, shorter than a client's patience
		EndedRetention: time.Minute,            // clients poll every few seconds; one minute shows them the end
		SweepInterval:  time.Second,            // idle timeouts are tens of seconds; one second is precise enough
		PauseThreshold: 250 * time.Millisecond, // under the 0.4 s after which gossip may declare a stopped node dead (membership.DefaultConfig, up to 10 members)
		PurgeTimeout:   300 * time.Millisecond, // a live node answers in a millisecond; a stuck one must not stall the restore
	}
}

// DefaultLocalConfig returns a Config for tests and laptops: short timeouts.
func DefaultLocalConfig(name string, store Store) Config {
	c := DefaultConfig(name, store)
	c.Settings.ResendDelay = 10 * time.Millisecond
	c.SweepInterval = 100 * time.Millisecond
	return c
}

// Validate reports the first field that is missing or out of range.
func (c Config) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("chatnode: Name is empty")
	case c.Store == nil:
		return errors.New("chatnode: Store is nil")
	case c.MaxBodySize < 1024:
		return errors.New("chatnode: MaxBodySize must be at least 1024")
	case c.MaxMessageSize < 1 || c.MaxMessageSize > c.MaxBodySize:
		return errors.New("chatnode: MaxMessageSize must be between 1 and MaxBodySize")
	case c.StoreTimeout <= 0 || c.EndedRetention <= 0 || c.SweepInterval <= 0 || c.PauseThreshold <= 0 || c.PurgeTimeout <= 0:
		return errors.New("chatnode: StoreTimeout, EndedRetention, SweepInterval, PauseThreshold and PurgeTimeout must be positive")
	}
	return c.Settings.Validate()
}

func (c *Config) fillDefaults() {
	if c.Incarnation == 0 {
		c.Incarnation = uint64(time.Now().UnixMicro())
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = metrics.NewSet()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
}
