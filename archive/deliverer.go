package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/chatha/chatha/chat"
)

// Deliverer delivers the outbox's final transcripts to the webhook. Create
// it with New, Kick it when a transcript is queued, stop it with Close.
type Deliverer struct {
	cfg  Config
	log  *slog.Logger
	kick chan struct{}
	// base is cancelled by Close: it ends the attempts under way.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	delivered *metrics.Counter
	failed    *metrics.Counter
	seconds   *metrics.PrometheusHistogram
}

// New validates cfg and starts a deliverer.
func New(cfg Config) (*Deliverer, error) {
	cfg.fillDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Deliverer{cfg: cfg, log: cfg.Logger.With("node", cfg.Name), kick: make(chan struct{}, 1)}
	d.base, d.cancel = context.WithCancel(context.Background())
	d.delivered = cfg.Metrics.NewCounter(`chatha_webhook_deliveries_total{result="delivered"}`)
	d.failed = cfg.Metrics.NewCounter(`chatha_webhook_deliveries_total{result="failed"}`)
	d.seconds = cfg.Metrics.NewPrometheusHistogram("chatha_webhook_delivery_seconds")
	d.wg.Add(1)
	go d.run()
	d.log.Info("archive webhook on", "url", Redacted(cfg.URL))
	return d, nil
}

// Kick makes the deliverer read the outbox now; it never blocks.
func (d *Deliverer) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Close stops the deliverer: attempts under way are cut short and their
// entries made due again at once, for another node to deliver.
func (d *Deliverer) Close() {
	d.once.Do(d.cancel)
	d.wg.Wait()
}

// run reads the outbox on every kick and every PollInterval, and again at
// once after a round that found a full batch.
func (d *Deliverer) run() {
	defer d.wg.Done()
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for {
		if d.round() == d.cfg.Batch {
			continue
		}
		select {
		case <-d.kick:
		case <-t.C:
		case <-d.base.Done():
			return
		}
	}
}

// round delivers the entries due now, up to Batch, Workers at a time; it
// returns how many it found.
func (d *Deliverer) round() int {
	ctx, cancel := context.WithTimeout(d.base, d.cfg.StoreTimeout)
	due, err := d.cfg.Outbox.DueDeliveries(ctx, d.cfg.Now(), d.cfg.Batch)
	cancel()
	if err != nil {
		if d.base.Err() == nil {
			d.log.Warn("cannot read the outbox of the archive webhook", "err", err)
		}
		return 0
	}
	slots := make(chan struct{}, d.cfg.Workers)
	var wg sync.WaitGroup
	for _, e := range due {
		select {
		case slots <- struct{}{}:
		case <-d.base.Done():
			wg.Wait()
			return 0
		}
		wg.Go(func() {
			defer func() { <-slots }()
			d.attempt(e)
		})
	}
	wg.Wait()
	return len(due)
}

// attempt leases an entry, POSTs it, and completes or reschedules it.
func (d *Deliverer) attempt(e chat.Delivery) {
	token := fmt.Sprintf("%s-%016x", d.cfg.Name, rand.Uint64())
	ctx, cancel := context.WithTimeout(d.base, d.cfg.StoreTimeout)
	l, err := d.cfg.Outbox.LeaseDelivery(ctx, e, token, d.cfg.Now().Add(d.cfg.Lease))
	cancel()
	if err != nil {
		if !errors.Is(err, chat.ErrLeaseLost) && d.base.Err() == nil {
			d.log.Warn("cannot lease a transcript for the archive webhook", "chat", e.ChatID, "err", err)
		}
		return
	}
	start := time.Now()
	err = d.post(l)
	d.seconds.UpdateDuration(start)
	if err == nil {
		d.delivered.Inc()
		d.finish(l, token, "transcript delivered to the archive webhook", func(ctx context.Context) error {
			return d.cfg.Outbox.CompleteDelivery(ctx, l.ChatID, token)
		})
		return
	}
	d.failed.Inc()
	wait := d.backoff(l.Attempts)
	if d.base.Err() != nil {
		wait = 0 // stopping: leave it to another node at once
	}
	d.log.Warn("cannot deliver transcript to the archive webhook; trying again", "chat", l.ChatID,
		"attempt", l.Attempts, "in", wait.Round(time.Millisecond), "err", err)
	d.finish(l, token, "", func(ctx context.Context) error {
		return d.cfg.Outbox.RetryDelivery(ctx, l.ChatID, token, d.cfg.Now().Add(wait))
	})
}

// finish runs the write that ends an attempt, even while the deliverer
// stops, and logs done when it worked. A lease lost meanwhile means another
// deliverer has the entry now: it delivers it again.
func (d *Deliverer) finish(l chat.Delivery, token, done string, write func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.base), d.cfg.StoreTimeout)
	defer cancel()
	err := write(ctx)
	switch {
	case err == nil && done != "":
		d.log.Info(done, "chat", l.ChatID, "attempt", l.Attempts)
	case errors.Is(err, chat.ErrLeaseLost):
		d.log.Info("the lease of a transcript ran out during its delivery; it is delivered again", "chat", l.ChatID, "token", token)
	case err != nil:
		d.log.Warn("cannot update the outbox of the archive webhook; the entry's lease runs out", "chat", l.ChatID, "err", err)
	}
}

// maxAnswer is how much of a receiver's answer is read, then dropped.
const maxAnswer = 64 << 10

// post sends one delivery and reports whether the receiver took it (2xx).
func (d *Deliverer) post(l chat.Delivery) error {
	ctx, cancel := context.WithTimeout(d.base, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.cfg.URL, bytes.NewReader(l.Data))
	if err != nil {
		return err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "chatha-archive/1")
	h.Set("Idempotency-Key", l.ChatID)
	h.Set("X-Chatha-Chat-Id", l.ChatID)
	h.Set("X-Chatha-Attempt", strconv.Itoa(l.Attempts))
	h.Set("X-Chatha-Node", d.cfg.Name)
	h.Set(SignatureHeader, Sign(d.cfg.Secret, l.Data, d.cfg.Now()))
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its message repeats the URL, query and all
			err = ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the webhook answered %d", resp.StatusCode)
	}
	return nil
}

// backoff is the wait after failed attempt n (1-based): MinBackoff doubled
// n-1 times, at most MaxBackoff, then a random half to all of it.
func (d *Deliverer) backoff(n int) time.Duration {
	w := d.cfg.MaxBackoff
	if shift := max(n-1, 0); shift < 30 && d.cfg.MinBackoff<<shift < d.cfg.MaxBackoff {
		w = d.cfg.MinBackoff << shift
	}
	return w/2 + rand.N(w/2+1)
}
