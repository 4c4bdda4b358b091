package cassandra

import (
	"context"

	"github.com/gocql/gocql"
)

// EventCommitLogPeriodic is logged, as a warning, when the Cassandra node a store first
// reaches syncs its commit log periodically (commitlog_sync: periodic, Cassandra's
// default). A node then acknowledges writes it has not synced, and a crash loses those it
// acknowledged just before it: a chat message acknowledged by two replicas while the third
// was down is no longer on a quorum once one of the two crashes. chatha acknowledges a
// message only once it is stored, so production Cassandra should run commitlog_sync:
// batch (or group).
const EventCommitLogPeriodic = "CHATHA-CASS-003"

// checkCommitLog reads the commit log settings of the node that answers (a virtual
// table, Cassandra 4.0 and later; each node has its own) and warns when it syncs
// periodically. A Cassandra without the table, or a role that may not read it, only
// leaves a debug line: the check is advice, not a condition to start.
func (s *Store) checkCommitLog(ctx context.Context) {
	iter := s.session.Query("SELECT name, value FROM system_views.settings WHERE name IN ('commitlog_sync', 'commitlog_sync_period')").
		WithContext(ctx).Consistency(gocql.One).Iter()
	settings := map[string]string{}
	var name, value string
	for iter.Scan(&name, &value) {
		settings[name] = value
	}
	if err := iter.Close(); err != nil {
		s.logger.Debug("cannot read cassandra's commit log settings", "error", err)
		return
	}
	if mode := settings["commitlog_sync"]; syncsPeriodically(mode) {
		s.logger.Warn("cassandra syncs its commit log periodically: a replica that crashes loses writes it acknowledged just before; set commitlog_sync: batch (or group) on every Cassandra node",
			"event", EventCommitLogPeriodic, "commitlog_sync", mode, "commitlog_sync_period", settings["commitlog_sync_period"])
	}
}

// syncsPeriodically reports whether a commitlog_sync value acknowledges writes before
// they are synced.
func syncsPeriodically(mode string) bool {
	return mode == "periodic"
}
