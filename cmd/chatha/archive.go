package main

import (
	"errors"
	"flag"
	"log/slog"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/chatha/chatha/archive"
	"github.com/chatha/chatha/chat"
)

// webhookFlags are the flags of the archive webhook of "chatha node".
type webhookFlags struct {
	url, secret string
	allowHTTP   bool
	timeout     time.Duration
}

func (w *webhookFlags) register(fs *flag.FlagSet) {
	def := archive.DefaultConfig("", "", nil, nil)
	fs.StringVar(&w.url, "transcript-webhook-url", "", "`URL` that receives every final transcript as JSON (https, or http to a loopback address); empty: none")
	fs.StringVar(&w.secret, "transcript-webhook-secret", "", "`secret` (16 bytes or more) under which every delivery is signed (X-Chatha-Signature); it is never sent")
	fs.BoolVar(&w.allowHTTP, "transcript-webhook-allow-http", false, "allow a plain http webhook URL to a host that is not loopback")
	fs.DurationVar(&w.timeout, "transcript-webhook-timeout", def.Timeout, "bound of one delivery attempt; a delivery is leased for twice this and 5s more")
}

// check refuses webhook flags that would do nothing or could not work.
func (w *webhookFlags) check() error {
	switch {
	case w.url == "" && (w.secret != "" || w.allowHTTP):
		return errors.New("--transcript-webhook-secret and --transcript-webhook-allow-http need --transcript-webhook-url")
	case w.url == "":
		return nil
	case len(w.secret) < archive.MinSecret:
		return errors.New("--transcript-webhook-url needs --transcript-webhook-secret of 16 bytes or more (CHATHA_TRANSCRIPT_WEBHOOK_SECRET)")
	case w.timeout <= 0:
		return errors.New("--transcript-webhook-timeout must be positive")
	}
	return archive.CheckURL(w.url, w.allowHTTP)
}

// start starts the deliverer of the node called name over the store's
// outbox; nil without a webhook URL.
func (w *webhookFlags) start(name string, store chat.Store, log *slog.Logger, set *metrics.Set) (*archive.Deliverer, error) {
	if w.url == "" {
		return nil, nil
	}
	cfg := archive.DefaultConfig(name, w.url, []byte(w.secret), store)
	cfg.AllowHTTP, cfg.Timeout, cfg.Logger, cfg.Metrics = w.allowHTTP, w.timeout, log, set
	return archive.New(cfg)
}
