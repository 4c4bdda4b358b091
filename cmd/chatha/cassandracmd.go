package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/chatha/chatha/cassandra"
)

// runCassandra handles "chatha cassandra schema": it prints the CQL schema.
func runCassandra(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "schema" {
		return usageError{errors.New("usage: chatha cassandra schema [--keyspace K] [--replication DC:RF[,DC:RF..]] [--ttl DURATION]")}
	}
	def := cassandra.DefaultConfig()
	fs := flag.NewFlagSet("chatha cassandra schema", flag.ContinueOnError)
	keyspace := fs.String("keyspace", def.Keyspace, "keyspace `name`")
	replication := fs.String("replication", def.Replication, "NetworkTopologyStrategy replication, `DC:RF[,DC:RF..]`")
	ttl := fs.Duration("ttl", def.TTL, "time to live of the intermediate rows (sessions, events)")
	if _, err := parseFlags(fs, args[1:], nil, stderr); err != nil {
		return err
	}
	if err := cassandra.CheckSchema(*keyspace, *replication, *ttl); err != nil {
		return usageError{err}
	}
	_, err := fmt.Fprint(stdout, cassandra.Schema(*keyspace, *replication, *ttl))
	return err
}
