package chatnode

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/chatha/chatha/api"
)

// backgroundPurgeTimeout bounds a purge sent to a previous owner that is not live.
const backgroundPurgeTimeout = 2 * time.Second

// purgeRetryEvery is the pause between two purges of a previous owner that
// did not answer.
const purgeRetryEvery = 50 * time.Millisecond

// purgePrevious asks the chat's previous owner to drop it
// (session-restore-do-purge) through that owner's admin API, found in the
// membership view, before the restored chat is served: a previous owner that
// is still running would otherwise answer reads from its copy, which lacks
// what this node is about to acknowledge, whenever a router still sends it
// the chat (two proxies may disagree for a while after a fault). Fencing
// protects writes, the purge reads. So a previous owner that gossip shows live
// is asked again, each time for at most PurgeTimeout, until it answers, its
// connection is refused (no process listens there), gossip no longer shows
// that incarnation live, or PurgeWait has passed (a previous owner that
// cannot be told, and still runs, may then answer reads until its next write
// fails). A previous owner that is not live is asked once in the background
// (a node declared dead may still be running, and reads the request when it
// resumes).
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
	if !owner.Live() {
		n.wg.Go(func() {
			if err := n.purgeOnce(c, id, backgroundPurgeTimeout); err != nil {
				n.log.Debug("background purge failed", "chat", id, "previous", previous, "err", err)
			}
		})
		return
	}
	deadline := time.Now().Add(n.cfg.PurgeWait)
	for {
		err := n.purgeOnce(c, id, n.cfg.PurgeTimeout)
		switch {
		case err == nil, errors.Is(err, syscall.ECONNREFUSED):
			return
		case !n.stillLive(previous, owner.Meta.Incarnation) || time.Now().After(deadline):
			n.log.Info("cannot purge chat on its previous owner; fencing keeps it from writing", "chat", id, "previous", previous, "err", err)
			return
		}
		time.Sleep(purgeRetryEvery) // pacing between attempts, bounded by PurgeWait
	}
}

// purgeOnce asks the node behind c to drop chat id, waiting at most timeout.
func (n *Node) purgeOnce(c *api.Client, id string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := c.Purge(ctx, id)
	return err
}

// stillLive tells whether the membership view still shows incarnation inc of
// the member called name live.
func (n *Node) stillLive(name string, inc uint64) bool {
	owner, ok := n.cfg.Cluster().Lookup(name)
	return ok && owner.Live() && owner.Meta.Incarnation == inc
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
