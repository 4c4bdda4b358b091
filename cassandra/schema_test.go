package cassandra

import (
	"os"
	"strings"
	"testing"
	"time"
)

// schemaFile is the checked-in schema; it must be Schema's output for the defaults.
const schemaFile = "../deploy/cassandra/schema.cql"

// TestSchemaFileIsGenerated fails when deploy/cassandra/schema.cql and Schema disagree.
// Regenerate with: CHATHA_UPDATE_SCHEMA=1 go test ./cassandra/ -run TestSchemaFileIsGenerated
func TestSchemaFileIsGenerated(t *testing.T) {
	c := DefaultConfig()
	want := Schema(c.Keyspace, c.Replication, c.TTL)
	if os.Getenv("CHATHA_UPDATE_SCHEMA") == "1" {
		if err := os.WriteFile(schemaFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is not Schema(%q, %q, %v); regenerate it (see the test's comment)", schemaFile, c.Keyspace, c.Replication, c.TTL)
	}
}

func TestSchemaContents(t *testing.T) {
	cql := Schema("ks1", "dc1:3,dc2:2", 90*time.Minute)
	for _, want := range []string{
		"CREATE KEYSPACE IF NOT EXISTS ks1",
		"{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}",
		"CREATE TABLE IF NOT EXISTS ks1.chats",
		"last_write timestamp static",
		"PRIMARY KEY ((chat_id), seq)",
		"default_time_to_live = 8100",
		"CREATE TABLE IF NOT EXISTS ks1.claims",
		"default_time_to_live = 5400",
		"gc_grace_seconds = 10800",
		"CREATE TABLE IF NOT EXISTS ks1.transcripts",
		"CREATE TABLE IF NOT EXISTS ks1.files",
		"PRIMARY KEY ((chat_id), file_id, chunk)",
		"CREATE TABLE IF NOT EXISTS ks1.outbox",
		"PRIMARY KEY ((bucket), chat_id)",
		"gc_grace_seconds = 600",
		"CREATE TABLE IF NOT EXISTS ks1.endings",
		"gc_grace_seconds = 60",
		"CREATE TABLE IF NOT EXISTS ks1.userdata",
		"PRIMARY KEY ((key, value), chat_id)",
		"CREATE TABLE IF NOT EXISTS ks1.userdata_by_chat",
	} {
		if !strings.Contains(cql, want) {
			t.Errorf("schema lacks %q", want)
		}
	}
	sts := schemaStatements(cql)
	if len(sts) != 9 {
		t.Fatalf("schema splits into %d statements, want 9: %q", len(sts), sts)
	}
	for _, st := range sts {
		if strings.Contains(st, "--") || strings.Contains(st, ";") {
			t.Errorf("statement keeps a comment or separator: %q", st)
		}
	}
}

func TestCheckSchema(t *testing.T) {
	for _, tc := range []struct {
		ks, repl string
		ttl      time.Duration
		bad      string
	}{
		{"chatha", "datacenter1:3", time.Hour, ""},
		{"Chatha", "datacenter1:3", time.Hour, "keyspace"},
		{"chatha;drop", "datacenter1:3", time.Hour, "keyspace"},
		{"chatha", "dc1", time.Hour, "not DC:RF"},
		{"chatha", "dc1:0", time.Hour, "1..99"},
		{"chatha", "dc'1:3", time.Hour, "not DC:RF"},
		{"chatha", "dc1:3,dc1:2", time.Hour, "twice"},
		{"chatha", "dc1:3", 0, "TTL"},
		{"chatha", "dc1:3", 1500 * time.Millisecond, "TTL"},
	} {
		err := CheckSchema(tc.ks, tc.repl, tc.ttl)
		if (err == nil) != (tc.bad == "") || (err != nil && !strings.Contains(err.Error(), tc.bad)) {
			t.Errorf("CheckSchema(%q, %q, %v) = %v, want error containing %q", tc.ks, tc.repl, tc.ttl, err, tc.bad)
		}
	}
}
