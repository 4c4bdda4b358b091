// Package membership owns chatha's view of the cluster: which chat nodes,
// proxies and dashboards exist, whether they are alive, and what they
// gossip about themselves (Meta: role, API address, mode, sessions,
// incarnation). It wraps github.com/hashicorp/memberlist (SWIM gossip with
// Lifeguard), configures it for a LAN, and optionally encrypts gossip with
// a rotatable shared key.
//
// A Member publishes immutable View snapshots through an atomic.Pointer:
// readers call Current without locking and wait on View.Changed for the
// next one. A View lists every incarnation it knows, live and departed, so
// the home of a chat whose node died can still be named; Checksum lets two
// proxies compare their routing inputs.
//
// Every member publishes its own gossip Health in its Meta (version 2 of
// the encoding): memberlist's health score, how often it refuted a
// suspicion, and the mean round trip of its probes of the others, which it
// measures from memberlist's probe callbacks (Probes returns them by member).
//
// A chat node's mode and session count go out through Publish, which
// coalesces bursts into at most one metadata broadcast per PublishInterval,
// always ending with the latest values. SetKeys rotates the gossip keys.
//
// Goroutines: memberlist runs its listeners, probe, gossip and push/pull
// loops; this package's callbacks (events, probe results, log lines) run on
// them and only update the member table and the probe figures under their
// mutexes, never calling back into memberlist. Publish's broadcasts run on
// timer goroutines, one at a time; one more goroutine publishes Health every
// Config.HealthInterval and stops on Shutdown.
//
// What memberlist keeps private is recovered from its log lines (see
// logwatch.go): a failed probe of ours marks a member suspect, and a
// refutation of a suspicion or death notice about ourselves counts in
// Refutations and calls the OnRefute subscriber. A graceful leave is told apart from a failure by the
// Leaving flag a member gossips in its Meta just before it leaves.
package membership
