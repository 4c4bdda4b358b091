package chatnode

import (
	"context"
	"time"

	"github.com/chatha/chatha/api"
)

// backgroundPurgeTimeout bounds a purge sent to a previous owner that is not live.
const backgroundPurgeTimeout = 2 * time.Second

// purgePrevious asks the chat's previous owner to drop it
// (session-restore-do-purge) through that owner's admin API, found in the
// membership view, before the restored chat is served, so a previous owner
// that is still running stops serving reads from its copy. It waits at most
// PurgeTimeout; a previous owner that is not live is asked in the background
// (a node declared dead may still be running, and reads the request when it
// resumes). Fencing protects writes either way.
func (n *Node) purgePrevious(previous, id string) {
	if !n.cfg.Settings.RestoreDoPurge || n.cfg.Cluster == nil || previous == "" || previous == n.cfg.Name {
		return
	}
	owner, ok := n.cfg.Cluster().Lookup(previous)
	if !ok || owner.Meta.APIAddr == "" {
		n.log.Info("cannot purge chat on its previous owner, not a known member; fencing keeps it from writing", "chat", id, "previous", previous)
		return
	}
	c, err := n.purger(owner.Meta.APIAddr)
	if err != nil {
		n.log.Warn("cannot purge chat on its previous owner", "chat", id, "previous", previous, "err", err)
		return
	}
	if owner.Live() {
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.PurgeTimeout)
		defer cancel()
		if _, err := c.Purge(ctx, id); err != nil {
			n.log.Info("cannot purge chat on its previous owner; fencing keeps it from writing", "chat", id, "previous", previous, "err", err)
		}
		return
	}
	n.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), backgroundPurgeTimeout)
		defer cancel()
		if _, err := c.Purge(ctx, id); err != nil {
			n.log.Debug("background purge failed", "chat", id, "previous", previous, "err", err)
		}
	})
}

// purger returns the admin client of the node at addr, with the cluster
// token: over https with Config.TLS, which verifies the node's certificate.
func (n *Node) purger(addr string) (*api.Client, error) {
	if c, ok := n.purgers.Load(addr); ok {
		return c.(*api.Client), nil
	}
	scheme := "http://"
	if n.cfg.TLS != nil {
		scheme = "https://"
	}
	c, err := api.NewClient(api.ClientConfig{Addr: scheme + addr, Token: n.cfg.ClusterToken, TLS: n.cfg.TLS})
	if err != nil {
		return nil, err
	}
	actual, _ := n.purgers.LoadOrStore(addr, c)
	return actual.(*api.Client), nil
}
