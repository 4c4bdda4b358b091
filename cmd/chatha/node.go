package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chatid"
	"github.com/chatha/chatha/chatnode"
	"github.com/chatha/chatha/membership"
	chatstore "github.com/chatha/chatha/store"
	"github.com/chatha/chatha/telemetry"
)

// nodeFlags are the flags of "chatha node".
type nodeFlags struct {
	common
	store         string
	tlsClientAuth string
	pageEvents    int
	pageBytes     int
	createSecret  string
	webhook       webhookFlags
}

// common holds the flags "node" and "proxy" share.
type common struct {
	name, api, gossip, join, config string
	clusterToken, agentToken        string
	gossipKey, gossipKeys           string
	tlsCert, tlsKey                 string
	tlsCA                           string
	tlsClientCert, tlsClientKey     string
	corsOrigins                     string
	cors                            *api.CORS // corsOrigins, checked by validate
	logFormat                       string
	pinned                          map[string]string // gossip key flags given on the command line
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.name, "name", "", "stable `name` of this member (required)")
	fs.StringVar(&c.api, "api", "", "`host:port` the HTTP API listens on (required)")
	fs.StringVar(&c.gossip, "gossip", "", "`host:port` for gossip with the cluster")
	fs.StringVar(&c.join, "join", "", "gossip addresses to join, `host:port[,..]`")
	fs.StringVar(&c.config, "config", "", "YAML config `file`")
	fs.StringVar(&c.clusterToken, "cluster-token", "", "bearer `token` of the admin API (empty: open)")
	fs.StringVar(&c.agentToken, "agent-token", "", "bearer `token` of the agent API (empty: open)")
	fs.StringVar(&c.gossipKey, "gossip-key", "", "gossip encryption `key`, base64 of 16, 24 or 32 bytes; SIGHUP rereads it")
	fs.StringVar(&c.gossipKeys, "gossip-keys", "", "more gossip `keys` accepted during a rotation, base64, comma separated")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate `file`: the API serves https")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM key `file` of --tls-cert")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "PEM CA `file`: every call to a node is https and its certificate must be signed by this CA")
	fs.StringVar(&c.tlsClientCert, "tls-client-cert", "", "PEM certificate `file` presented to nodes for mutual TLS (default --tls-cert)")
	fs.StringVar(&c.tlsClientKey, "tls-client-key", "", "PEM key `file` of --tls-client-cert (default --tls-key)")
	fs.StringVar(&c.corsOrigins, "cors-allowed-origins", "", "web page `origins` (scheme://host[:port], comma separated, or * for any) whose browsers may call the chat API; empty: none")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
}

func (c *common) validate() error {
	switch {
	case c.name == "":
		return errors.New("--name is required")
	case c.api == "":
		return errors.New("--api is required")
	case c.logFormat != "text" && c.logFormat != "json":
		return fmt.Errorf("--log-format is %q, want text or json", c.logFormat)
	}
	if _, _, err := net.SplitHostPort(c.api); err != nil {
		return fmt.Errorf("--api %q: %w", c.api, err)
	}
	if c.gossip != "" {
		if _, _, err := net.SplitHostPort(c.gossip); err != nil {
			return fmt.Errorf("--gossip %q: %w", c.gossip, err)
		}
	}
	cors, err := api.ParseCORS(c.corsOrigins)
	if err != nil {
		return fmt.Errorf("--%w", err)
	}
	c.cors = cors
	return c.checkSecurity()
}

func (c *common) logger(stderr io.Writer) *slog.Logger {
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(stderr, nil))
	}
	return slog.New(slog.NewTextHandler(stderr, nil))
}

// registerNodeFlags binds the flags only "chatha node" has, HA options aside.
func registerNodeFlags(fs *flag.FlagSet, f *nodeFlags) {
	def := chatnode.DefaultConfig("", nil)
	fs.StringVar(&f.store, "store", "sqlite:./chatha-data/chatha.db", "store `URL`: sqlite:PATH or cassandra://HOST[,HOST..][:PORT]/KEYSPACE?...")
	fs.StringVar(&f.tlsClientAuth, "tls-client-auth", clientAuthNone, "with TLS: none, or require (every caller presents a certificate signed by --tls-ca)")
	fs.IntVar(&f.pageEvents, "page-max-events", def.PageEvents, "most transcript events in one answer; the rest from nextPosition")
	fs.IntVar(&f.pageBytes, "page-max-bytes", def.PageBytes, "about the most bytes of messages in one answer (one larger event goes alone)")
	fs.StringVar(&f.createSecret, "create-secret", "", "`secret` shared by every node, under which a create's secure key is derived from its request id (default: from --cluster-token, else --gossip-key)")
	f.webhook.register(fs)
}

// registerSettings binds the HA options of ARCHITECTURE section 5 to flags.
func registerSettings(fs *flag.FlagSet, s *chatnode.Settings) {
	*s = chatnode.DefaultSettings()
	fs.TextVar(&s.RestorationMode, "session-restoration-mode", s.RestorationMode, "restore chats this node does not hold: none or simple")
	fs.TextVar(&s.AutoSave, "transcript-auto-save", s.AutoSave, "0: save at end only; 1: append before ack; 2: 1 plus save notices")
	fs.TextVar(&s.SaveOnError, "transcript-save-on-error", s.SaveOnError, "on a failed save: close or continue")
	fs.IntVar(&s.ResendAttempts, "transcript-resend-attempts", s.ResendAttempts, "retries of a failed append")
	fs.DurationVar(&s.ResendDelay, "transcript-resend-delay", s.ResendDelay, "delay between retries")
	fs.TextVar(&s.SaveNotices, "transcript-save-notices", s.SaveNotices, "notices persisted: none, major or all")
	fs.BoolVar(&s.RestoreDoPurge, "session-restore-do-purge", s.RestoreDoPurge, "after a restore, ask the old owner to purge")
	fs.TextVar(&s.RestoreNotices, "restore-notices", s.RestoreNotices, "shown after a restore: participants, notice or none")
	fs.DurationVar(&s.FlexDisconnectTimeout, "flex-disconnect-timeout", s.FlexDisconnectTimeout, "disconnect a participant silent this long (0: never)")
	fs.BoolVar(&s.InactivityEnabled, "inactivity-control-enabled", s.InactivityEnabled, "send idle alerts and close idle chats")
	fs.DurationVar(&s.InactivityAlert, "inactivity-control-timeout-alert", s.InactivityAlert, "idle time before an IdleAlert")
	fs.DurationVar(&s.InactivityAlert2, "inactivity-control-timeout-alert2", s.InactivityAlert2, "idle time after the first alert before a second (0: none)")
	fs.DurationVar(&s.InactivityClose, "inactivity-control-timeout-close", s.InactivityClose, "idle time after the last alert before the chat closes")
	fs.IntVar(&s.LimitForSessions, "limit-for-sessions", s.LimitForSessions, "live chats at which the node reports full")
	fs.IntVar(&s.LimitsRestoreThreshold, "limits-restore-threshold", s.LimitsRestoreThreshold, "percent of the limit below which a full node is active again")
	fs.Int64Var(&s.UploadMaxFileSize, "upload-max-file-size", s.UploadMaxFileSize, "largest file a participant can upload, in bytes")
	fs.IntVar(&s.UploadMaxFiles, "upload-max-files", s.UploadMaxFiles, "most files a chat holds (0: no file transfer)")
	fs.Int64Var(&s.UploadMaxTotalSize, "upload-max-total-size", s.UploadMaxTotalSize, "most bytes of files a chat holds")
	fs.StringVar(&s.UploadFileTypes, "upload-file-types", s.UploadFileTypes, "file name extensions allowed, colon separated")
	fs.BoolVar(&s.UploadNeedAgent, "upload-need-agent", s.UploadNeedAgent, "files can be uploaded only while an agent is in the chat")
	fs.IntVar(&s.DownloadAttempts, "download-attempts", s.DownloadAttempts, "how often each participant can download each file (0: no limit)")
	fs.DurationVar(&s.TranscriptRetention, "transcript-retention", s.TranscriptRetention, "how long the store keeps a final transcript (0: for ever); each keeps the retention it was saved with")
	fs.Func("erase-index-keys", "userData `keys`, comma separated, whose values are indexed so chats can be erased by them (default none)", func(v string) error {
		s.EraseIndexKeys = splitList(v)
		return nil
	})
}

// splitList splits a comma separated list, dropping empty items and spaces.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// nodeFlagSet returns the flag set of "chatha node" and what it fills.
func nodeFlagSet() (*flag.FlagSet, *nodeFlags, *chatnode.Settings) {
	fs := flag.NewFlagSet("chatha node", flag.ContinueOnError)
	var f nodeFlags
	var settings chatnode.Settings
	f.register(fs)
	registerNodeFlags(fs, &f)
	registerSettings(fs, &settings)
	return fs, &f, &settings
}

func runNode(args []string, stdout, stderr io.Writer) error {
	fs, f, settings := nodeFlagSet()
	given, err := parseFlags(fs, args, &f.config, stderr)
	if err != nil {
		return err
	}
	f.pinned = pinnedKeys(fs, given)
	if err := f.validate(); err != nil {
		return usageError{err}
	}
	if err := settings.Validate(); err != nil {
		return usageError{err}
	}
	if err := f.webhook.check(); err != nil {
		return usageError{err}
	}
	serverTLS, clientTLS, err := f.nodeTLS()
	if err != nil {
		return usageError{err}
	}
	log := f.logger(stderr)
	secret, source, err := createSecret(f)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.api)
	if err != nil {
		return usageError{fmt.Errorf("cannot listen on --api %s: %w", f.api, err)}
	}
	defer ln.Close()
	store, err := chatstore.Open(context.Background(), f.store, log)
	if err != nil {
		return usageError{err}
	}
	defer store.Close()
	cfg := chatnode.DefaultConfig(f.name, store)
	cfg.Settings, cfg.Logger, cfg.Incarnation = *settings, log, chatid.NewIncarnation()
	cfg.Metrics = metrics.NewSet()
	if f.gossip != "" {
		// memberlist reports through go-metrics, process-wide: once, before the join.
		if err := telemetry.InstallGossipMetrics(cfg.Metrics); err != nil {
			return err
		}
	}
	cfg.ClusterToken, cfg.AgentToken, cfg.CORS = f.clusterToken, f.agentToken, f.cors
	cfg.PageEvents, cfg.PageBytes, cfg.TLS = f.pageEvents, f.pageBytes, clientTLS
	cfg.CreateSecret = secret
	if cfg.FinalSaveDelay, err = testFinalSaveDelay(log); err != nil {
		return usageError{err}
	}
	if source == "" { // an open setup, which the gossip warning already names
		source = "random, this process only: a create retried on another node is refused; set --create-secret"
	}
	log.Info("create secret", "from", source)
	deliverer, err := f.webhook.start(f.name, store, log, cfg.Metrics)
	if err != nil {
		return usageError{err}
	}
	if deliverer != nil {
		defer deliverer.Close() // after the node's final saves, deferred below
		cfg.Archive = deliverer.Kick
	}
	var member *membership.Member
	if f.gossip != "" {
		if member, err = joinGossip(&f.common, membership.RoleNode, cfg.Incarnation, log); err != nil {
			return err
		}
		cfg.Cluster, cfg.OnState, cfg.HealthScore = member.Current, member.Publish, member.HealthScore
	}
	node, err := chatnode.New(cfg)
	if err != nil {
		if member != nil {
			member.Shutdown()
		}
		return usageError{err}
	}
	defer node.Close()
	if member != nil {
		member.OnRefute(node.CheckHeldChats)
	}
	f.warnOpen(log, f.tlsClientAuth == clientAuthRequire)
	return serveNode(node, member, withTLS(ln, serverTLS), f, log, stdout)
}

// testFinalSaveDelay reads CHATHA_TEST_FINAL_SAVE_DELAY, which tests set to
// hold every final save of the chats a node ends (chatnode.Config.FinalSaveDelay),
// so that they can kill the node between a chat's end and its final save.
func testFinalSaveDelay(log *slog.Logger) (time.Duration, error) {
	v, ok := os.LookupEnv("CHATHA_TEST_FINAL_SAVE_DELAY")
	if !ok {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("CHATHA_TEST_FINAL_SAVE_DELAY %q: want a duration of 0 or more (it is for tests only)", v)
	}
	log.Warn("CHATHA_TEST_FINAL_SAVE_DELAY is set: every final save waits; for tests only", "delay", d)
	return d, nil
}

func serveNode(node *chatnode.Node, member *membership.Member, ln net.Listener, f *nodeFlags, log *slog.Logger, stdout io.Writer) error {
	srv := node.Server()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if member != nil {
		defer reloadKeysOnHUP(member, f.config, f.pinned, log)()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "chatha node %s serving on %s\n", f.name, ln.Addr())
	log.Info("node started", "node", f.name, "api", ln.Addr().String(), "incarnation", node.Incarnation(), "store", redact(f.store))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("node stopping: no new chats; open chats continue on other nodes", "node", f.name)
	node.SetDraining(true)
	if member != nil {
		leaveGossip(member, log)
	}
	node.StopHolding() // held refreshes and CometD connects would keep the shutdown waiting
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.ShutdownWithContext(sctx)
	log.Info("node stopped", "node", f.name, "sessions", node.Sessions())
	return err
}
