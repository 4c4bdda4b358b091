package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chatid"
	"github.com/chatha/chatha/chatnode"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/proxy"
	"github.com/chatha/chatha/telemetry"
)

// proxyFlags are the flags only "chatha proxy" has.
type proxyFlags struct {
	brokenFor, requestTimeout time.Duration
	uploadMaxFileSize         int64
	idleConnTimeout           time.Duration
}

// registerProxyFlags binds the flags only "chatha proxy" has.
func registerProxyFlags(fs *flag.FlagSet) *proxyFlags {
	def := proxy.DefaultConfig("", nil)
	f := &proxyFlags{}
	fs.DurationVar(&f.brokenFor, "broken-for", def.BrokenFor, "how long a failing node is avoided")
	fs.DurationVar(&f.requestTimeout, "request-timeout", def.RequestTimeout, "timeout of one forwarded request")
	fs.DurationVar(&f.idleConnTimeout, "node-idle-conn-timeout", def.IdleConnTimeout, "how long a connection to a node may stay idle before the proxy closes it")
	fs.Int64Var(&f.uploadMaxFileSize, "upload-max-file-size", chatnode.DefaultSettings().UploadMaxFileSize,
		"largest file forwarded in an upload, in bytes: the nodes' upload-max-file-size")
	return f
}

// uploadBody returns the largest upload body the proxy forwards for files
// of up to max bytes: the file and room for its fields, as a node takes it.
func uploadBody(max int64) (int, error) {
	n, ok := api.UploadBody(max)
	if max < 1 || !ok {
		return 0, fmt.Errorf("--upload-max-file-size is %d, want 1 to %d", max, api.MaxUploadBody-api.UploadOverhead)
	}
	return n, nil
}

// proxyFlagSet returns the flag set of "chatha proxy" and what it fills.
func proxyFlagSet() (*flag.FlagSet, *common, *proxyFlags) {
	fs := flag.NewFlagSet("chatha proxy", flag.ContinueOnError)
	var f common
	f.register(fs)
	return fs, &f, registerProxyFlags(fs)
}

func runProxy(args []string, stdout, stderr io.Writer) error {
	fs, f, own := proxyFlagSet()
	given, err := parseFlags(fs, args, &f.config, stderr)
	if err != nil {
		return err
	}
	f.pinned = pinnedKeys(fs, given)
	if err := f.validate(); err != nil {
		return usageError{err}
	}
	if f.gossip == "" {
		return usageError{errors.New("--gossip is required")}
	}
	uploadLimit, err := uploadBody(own.uploadMaxFileSize)
	if err != nil {
		return usageError{err}
	}
	serverTLS, clientTLS, err := f.proxyTLS()
	if err != nil {
		return usageError{err}
	}
	log := f.logger(stderr)
	ln, err := net.Listen("tcp", f.api)
	if err != nil {
		return usageError{fmt.Errorf("cannot listen on --api %s: %w", f.api, err)}
	}
	defer ln.Close()
	set := metrics.NewSet()
	// memberlist reports through go-metrics, process-wide: once, before the join.
	if err := telemetry.InstallGossipMetrics(set); err != nil {
		return err
	}
	member, err := joinGossip(f, membership.RoleProxy, chatid.NewIncarnation(), log)
	if err != nil {
		return err
	}
	cfg := proxy.DefaultConfig(f.name, member.Current)
	cfg.Metrics, cfg.Probes = set, member.Probes
	cfg.ClusterToken, cfg.AgentToken, cfg.TLS = f.clusterToken, f.agentToken, clientTLS
	cfg.Logger, cfg.BrokenFor, cfg.RequestTimeout = log, own.brokenFor, own.requestTimeout
	cfg.CORS, cfg.MaxUploadBody, cfg.IdleConnTimeout = f.cors, uploadLimit, own.idleConnTimeout
	p, err := proxy.New(cfg)
	if err != nil {
		member.Shutdown()
		return usageError{err}
	}
	defer p.Close()
	defer reloadKeysOnHUP(member, f.config, f.pinned, log)()
	f.warnOpen(log, false)
	srv := p.Server()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(withTLS(ln, serverTLS)) }()
	fmt.Fprintf(stdout, "chatha proxy %s serving on %s\n", f.name, ln.Addr())
	log.Info("proxy started", "proxy", f.name, "api", ln.Addr().String(), "gossip", member.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	leaveGossip(member, log)
	p.CloseSessions()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.ShutdownWithContext(sctx)
	log.Info("proxy stopped", "proxy", f.name)
	return err
}
