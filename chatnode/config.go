package chatnode

import (
	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chatid"
	"github.com/chatha/chatha/cometd"
	"github.com/chatha/chatha/membership"

	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Settings are the HA options of a node (config section "settings").
type Settings struct {
	// RestorationMode is session-restoration-mode: none or simple (default simple).
	RestorationMode RestorationMode
	// AutoSave is transcript-auto-save: 0 saves only at the end, 1 appends every
	// event before it is acknowledged, 2 also sends Notices on save failure and recovery (default 1).
	AutoSave AutoSave
	// SaveOnError is transcript-save-on-error: close or continue (default close).
	SaveOnError SaveOnError
	// ResendAttempts is transcript-resend-attempts: retries of a failed append (default 3).
	ResendAttempts int
	// ResendDelay is transcript-resend-delay: the pause between retries (default 200ms).
	ResendDelay time.Duration
	// SaveNotices is transcript-save-notices: none, major or all (default major).
	SaveNotices SaveNotices
	// RestoreDoPurge is session-restore-do-purge: after a restore, ask the old owner to purge (default true).
	RestoreDoPurge bool
	// RestoreNotices is restore-notices: participants, notice or none (default participants).
	RestoreNotices RestoreNotices
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
	// UploadMaxFileSize is upload-max-file-size: the largest file a participant can upload, in bytes (default 10 MiB).
	UploadMaxFileSize int64
	// UploadMaxFiles is upload-max-files: the most files a chat holds at once (default 5; 0 turns file transfer off).
	UploadMaxFiles int
	// UploadMaxTotalSize is upload-max-total-size: the most bytes of files a chat holds at once (default 50 MiB).
	UploadMaxTotalSize int64
	// UploadFileTypes is upload-file-types: the file name extensions allowed, colon separated (default jpeg:jpg:png:gif:pdf:txt).
	UploadFileTypes string
	// UploadNeedAgent is upload-need-agent: files can be uploaded only while an agent is in the chat (default false).
	UploadNeedAgent bool
	// DownloadAttempts is download-attempts: how often each participant can download each file (default 5; 0 is no limit).
	DownloadAttempts int
	// TranscriptRetention is transcript-retention: how long the store keeps a
	// final transcript, from the chat's end (default 0: for ever). Each
	// transcript keeps the retention it was saved with.
	TranscriptRetention time.Duration
	// EraseIndexKeys is erase-index-keys: the userData keys whose values the
	// store indexes at create and updateData, so that chats can be erased by
	// them (default none).
	EraseIndexKeys []string
}

// DefaultSettings returns the documented defaults of the HA options.
func DefaultSettings() Settings {
	return Settings{
		RestorationMode:        RestoreSimple,  // any node can take over any chat
		AutoSave:               AutoSaveAppend, // nothing is acknowledged before it is stored
		SaveOnError:            OnErrorClose,   // never acknowledge what cannot be restored
		ResendAttempts:         3,              // rides out a store leader change
		ResendDelay:            200 * time.Millisecond,
		SaveNotices:            NoticesMajor, // typing is too chatty to store
		RestoreDoPurge:         true,         // frees the old owner's memory early
		RestoreNotices:         RestoreNoticesParticipants,
		FlexDisconnectTimeout:  45 * time.Second, // a closed browser tab leaves the chat
		InactivityAlert:        255 * time.Second,
		InactivityClose:        45 * time.Second,
		LimitForSessions:       1000,
		LimitsRestoreThreshold: 80,
		UploadMaxFileSize:      10 << 20, // a photo or a scanned document
		UploadMaxFiles:         5,        // a chat is a conversation, not a file share
		UploadMaxTotalSize:     50 << 20, // five files of the largest size; one Cassandra partition stays well under 100 MB
		UploadFileTypes:        "jpeg:jpg:png:gif:pdf:txt",
		DownloadAttempts:       5, // enough to open a file again; a link passed around stops working
	}
}

// Validate reports the first option that is out of range, by its config name.
func (s Settings) Validate() error {
	for _, c := range []interface{ check() error }{s.RestorationMode, s.AutoSave, s.SaveOnError, s.SaveNotices, s.RestoreNotices} {
		if err := c.check(); err != nil {
			return err
		}
	}
	switch {
	case s.ResendAttempts < 0:
		return fmt.Errorf("transcript-resend-attempts is %d, want 0 or more", s.ResendAttempts)
	case s.ResendDelay < 0:
		return errors.New("transcript-resend-delay is negative")
	case s.FlexDisconnectTimeout < 0 || s.InactivityAlert < 0 || s.InactivityAlert2 < 0 || s.InactivityClose < 0:
		return errors.New("flex-disconnect-timeout and inactivity-control timeouts must not be negative")
	case s.InactivityEnabled && s.InactivityAlert == 0:
		return errors.New("inactivity-control-timeout-alert must be positive when inactivity control is enabled")
	case s.LimitForSessions < 1:
		return fmt.Errorf("limit-for-sessions is %d, want 1 or more", s.LimitForSessions)
	case s.LimitsRestoreThreshold < 1 || s.LimitsRestoreThreshold > 100:
		return fmt.Errorf("limits-restore-threshold is %d, want 1 to 100", s.LimitsRestoreThreshold)
	case s.TranscriptRetention != 0 && (s.TranscriptRetention < time.Second || s.TranscriptRetention > maxRetention):
		return fmt.Errorf("transcript-retention is %v, want 0 (for ever) or 1s to 20 years", s.TranscriptRetention)
	}
	for _, k := range s.EraseIndexKeys {
		if err := api.CheckUserDataKey(k); err != nil {
			return fmt.Errorf("erase-index-keys: %q: %w", k, err)
		}
	}
	return s.validateFiles()
}

// maxRetention is the longest transcript-retention: 20 years, the longest
// TTL Cassandra keeps a row for.
const maxRetention = 20 * 365 * 24 * time.Hour

// indexed returns the pairs of data whose keys are in erase-index-keys.
func (s Settings) indexed(data map[string]string) map[string]string {
	var out map[string]string
	for _, k := range s.EraseIndexKeys {
		if v, ok := data[k]; ok && v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// Config configures a Node.
type Config struct {
	// Name is the node's stable name; it is the alias clients see.
	Name string
	// Incarnation tells this process apart from earlier ones of the same name
	// (required: chatid.NewIncarnation, the same the process gossips).
	Incarnation uint64
	// Settings are the HA options.
	Settings Settings
	// Store keeps sessions and transcripts. Required.
	Store chat.Store
	// ClusterToken guards the admin API; empty leaves it open.
	ClusterToken string
	// AgentToken guards the agent API; empty leaves it open.
	AgentToken string
	// CORS is which web pages on other origins may call the chat and agent
	// APIs from a browser (cors-allowed-origins); nil allows none.
	CORS *api.CORS
	// CreateSecret is the key under which a create's secure key is derived
	// from its request id, so that the create retried on any node answers the
	// same key: every node of a cluster needs the same one. Empty: a random
	// secret of this process, and create retries answer the key on this node only.
	CreateSecret []byte
	// MaxBodySize is the largest request body in bytes (default 64 KiB).
	MaxBodySize int
	// MaxMessageSize is the largest message text in bytes (default 16 KiB).
	MaxMessageSize int
	// MaxHeaderSize bounds a request's headers in bytes (default 20 KiB).
	MaxHeaderSize int
	// PageEvents is the most transcript events one answer carries (default 100).
	PageEvents int
	// PageBytes is about the most bytes of messages one answer carries
	// (default 1 MiB); a single larger event still goes, alone. An answer cut
	// short says where to go on in nextPosition.
	PageBytes int
	// TLS, when set, makes the node's calls to other nodes (the purge of a
	// previous owner) https, verifying their certificates against
	// TLS.RootCAs and presenting TLS.Certificates; nil calls them over plain HTTP.
	TLS *tls.Config
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
	// FinishInterval is how often the node reads the store's due ending
	// marks, to finish the chats whose node stopped between their end and
	// their final save (default 10s).
	FinishInterval time.Duration
	// FinalSaveDelay holds each final save of a chat this node ended for
	// this long, after its end is stored and acknowledged (default 0). For
	// tests only, that kill a node in between: cmd sets it from
	// CHATHA_TEST_FINAL_SAVE_DELAY.
	FinalSaveDelay time.Duration
	// MaxWait is the longest a refresh that asks with cometd.WaitHeader is
	// held until an event comes (default 30s); a longer ask is cut to it.
	MaxWait time.Duration
	// CometD configures the node's CometD server (cometd.Path, and
	// api.ChatNtfPath for file operations); its REST side, CORS policy,
	// Logger and Metrics are the node's own.
	CometD cometd.Config
	// PurgeWait bounds how long a restore keeps asking a previous owner that
	// gossip shows live and that does not answer, before the restored chat
	// is served anyway (default 2s).
	PurgeWait time.Duration
	// Cluster returns the current membership view, in which a restore finds
	// the API address of the chat's previous owner to purge it; nil purges nothing.
	Cluster func() *membership.View
	// Archive, when set, makes every final transcript queued in the store's
	// outbox for the archive webhook, in the same write that saves it, and is
	// called after each is queued (archive.Deliverer.Kick fits); nil queues none.
	Archive func()
	// HealthScore returns the node's gossip health score (Lifeguard
	// awareness: membership.Member.HealthScore), which rises when the node's
	// own probes fail without the nacks of the members that helped probe,
	// as when the node itself is cut off. Each rise makes the node verify
	// every held chat against the store before serving it again, since a
	// node cut off may have lost its chats to others; nil never does.
	HealthScore func() int
	// OnState is called with the node's mode and live-chat count each time
	// either changes, in order, with the node's lock held: it must return at
	// once and not call the node (membership.Member.Publish fits); nil does nothing.
	OnState func(mode membership.Mode, sessions int)
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
func DefaultConfig(name string, store chat.Store) Config {
	return Config{
		Name:           name,
		Settings:       DefaultSettings(),
		Store:          store,
		MaxBodySize:    64 << 10,               // a chat message is text; bigger bodies are abuse
		MaxMessageSize: 16 << 10,               // long pasted text fits, a file does not
		MaxHeaderSize:  20 << 10,               // a 16 KiB Cookie and the usual headers; each open connection keeps a buffer this size
		PageEvents:     100,                    // a client catching up takes a few round trips, each answer small
		PageBytes:      1 << 20,                // 64 messages of the largest size; proxies pass far more
		StoreTimeout:   5 * time.Second,        // longer than a store failover, shorter than a client's patience
		EndedRetention: time.Minute,            // clients poll every few seconds; one minute shows them the end
		SweepInterval:  time.Second,            // idle timeouts are tens of seconds; one second is precise enough
		PauseThreshold: 250 * time.Millisecond, // under the 0.4 s after which gossip may declare a stopped node dead (membership.DefaultConfig, up to 10 members)
		PurgeTimeout:   300 * time.Millisecond, // a live node answers in a millisecond; a stuck one must not stall the restore
		FinishInterval: 10 * time.Second,       // a mark is due tens of seconds after its chat ended; each read of the marks costs every node a few store reads
		MaxWait:        30 * time.Second,       // above the CometD pump's 25s, below the Bayeux connect timeout plus a client's network delay
		CometD:         cometd.DefaultConfig(nil),
		PurgeWait:      2 * time.Second, // a previous owner cut off is declared dead by then; under a proxy's 3s request timeout
	}
}

// DefaultLocalConfig returns a Config for tests and laptops: short timeouts,
// and an incarnation of its own.
func DefaultLocalConfig(name string, store chat.Store) Config {
	c := DefaultConfig(name, store)
	c.Incarnation = chatid.NewIncarnation()
	c.Settings.ResendDelay = 10 * time.Millisecond
	c.SweepInterval = 100 * time.Millisecond
	c.FinishInterval = 500 * time.Millisecond
	c.CometD = cometd.DefaultLocalConfig(nil)
	return c
}

// Validate reports the first field that is missing or out of range.
func (c Config) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("chatnode: Name is empty")
	case c.Incarnation == 0:
		return errors.New("chatnode: Incarnation is 0")
	case c.Store == nil:
		return errors.New("chatnode: Store is nil")
	case c.MaxBodySize < 1024:
		return errors.New("chatnode: MaxBodySize must be at least 1024")
	case c.MaxMessageSize < 1 || c.MaxMessageSize > c.MaxBodySize:
		return errors.New("chatnode: MaxMessageSize must be between 1 and MaxBodySize")
	case c.MaxHeaderSize < 4096:
		return errors.New("chatnode: MaxHeaderSize must be at least 4096")
	case c.PageEvents < 1:
		return fmt.Errorf("chatnode: PageEvents is %d, want 1 or more", c.PageEvents)
	case c.PageBytes < 1024:
		return fmt.Errorf("chatnode: PageBytes is %d, want 1024 or more", c.PageBytes)
	case c.StoreTimeout <= 0 || c.EndedRetention <= 0 || c.SweepInterval <= 0 || c.PauseThreshold <= 0 || c.PurgeTimeout <= 0 || c.FinishInterval <= 0:
		return errors.New("chatnode: StoreTimeout, EndedRetention, SweepInterval, PauseThreshold, PurgeTimeout and FinishInterval must be positive")
	case c.FinalSaveDelay < 0:
		return errors.New("chatnode: FinalSaveDelay is negative")
	case c.MaxWait < 0:
		return errors.New("chatnode: MaxWait is negative")
	case c.PurgeWait < 0:
		return errors.New("chatnode: PurgeWait must not be negative")
	}
	return c.Settings.Validate()
}

func (c *Config) fillDefaults() {
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

// fillCreateSecret gives a node without a create secret a random one.
func (c *Config) fillCreateSecret() error {
	if len(c.CreateSecret) > 0 {
		return nil
	}
	c.CreateSecret = make([]byte, 32)
	if _, err := io.ReadFull(c.Rand, c.CreateSecret); err != nil {
		return fmt.Errorf("chatnode: cannot read a random create secret: %w", err)
	}
	return nil
}
