package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	chatpkg "github.com/chatha/chatha/chat"
)

// rowsOf counts, in every table of the SQLite file at path, the rows that
// hold chatID in any column.
func rowsOf(t *testing.T, path, chatID string) map[string]int {
	t.Helper()
	db := openFile(t, path)
	out := map[string]int{}
	for _, name := range texts(t, db, `SELECT name FROM sqlite_master WHERE type = 'table'`) {
		var conds []string
		for _, c := range texts(t, db, `SELECT name FROM pragma_table_info(?)`, name) {
			// instr on a blob column compares bytes: it finds the id in records and transcripts too.
			conds = append(conds, `instr(CAST("`+c+`" AS BLOB), CAST(?1 AS BLOB)) > 0`)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM "`+name+`" WHERE `+strings.Join(conds, " OR "), chatID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

// texts returns the one text column of every row of query.
func texts(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	return allRows(t, db, func(rows *sql.Rows) (string, error) {
		var s string
		err := rows.Scan(&s)
		return s, err
	}, query, args...)
}

func noRowsOf(t *testing.T, path, chatID string) {
	t.Helper()
	for table, n := range rowsOf(t, path, chatID) {
		if n > 0 {
			t.Errorf("table %s holds %d rows of erased chat %s", table, n, chatID)
		}
	}
}

// TestEraseThroughProxyAndCtl: two nodes and a proxy, with a cluster token
// and customerId indexed. chatha ctl exports an ended chat's transcript,
// erases a live chat on the node that holds it (its participant is told it
// closed) and then every chat of the customer by userData; no table of the
// store holds a row of an erased chat, another customer's chat is intact,
// and the nodes log each erasure without the erased content.
func TestEraseThroughProxyAndCtl(t *testing.T) {
	const token = "cluster-secret-erase"
	store, path := sqliteFile(t)
	secure := []string{"--cluster-token", token, "--gossip-key", testGossipKey}
	c := newClusterWith(t, 2, &cluster{store: store, nodeArgs: append([]string{"--erase-index-keys", "customerId,email"}, secure...), proxyArgs: secure})
	pxp := c.addProxy("proxy-1")
	px := pxp.addr

	live := createReply(t, px, api.Request{Nickname: "Ann", Text: "text-live-8c1e", UserData: map[string]string{"customerId": "C42"}})
	ended := create(t, px, api.Request{Nickname: "Ann", Text: "text-ended-3f7a", UserData: map[string]string{"customerId": "C42"}})
	other := create(t, px, api.Request{Nickname: "Bob", Text: "text-other-90b2", UserData: map[string]string{"customerId": "C43"}})
	lc := chatOf(live)
	if r := lc.do(t, px, "send", api.Request{Message: "text-live-more-11d4"}); r.Status != 200 {
		t.Fatalf("send: %+v", r)
	}
	if r := ended.do(t, px, "disconnect", api.Request{}); !r.ChatEnded {
		t.Fatalf("disconnect: %+v", r)
	}

	var out string
	waitFor(t, 10*time.Second, "ctl transcript of the ended chat", func() bool {
		o, err := ctl(pxp, "--cluster-token", token, "transcript", ended.id)
		out = o
		return err == nil
	})
	var tr chatpkg.Transcript
	if err := json.Unmarshal([]byte(out), &tr); err != nil || tr.ChatID != ended.id || !strings.Contains(out, "text-ended-3f7a") {
		t.Fatalf("ctl transcript: %v\n%s", err, out)
	}
	if o, err := ctl(pxp, "transcript", ended.id); err == nil || !strings.Contains(o, "bearer token") {
		t.Fatalf("ctl transcript without the token: %v\n%s", err, o)
	}

	out, err := ctl(pxp, "--cluster-token", token, "erase", "--chat", lc.id)
	if err != nil {
		t.Fatalf("ctl erase --chat: %v\n%s", err, out)
	}
	if want := "erased " + lc.id + " on " + live.Node + ": ended the live chat, session, "; !strings.Contains(out, want) ||
		!strings.Contains(out, "1 create claim,") || !strings.Contains(out, "1 index entry") {
		t.Fatalf("ctl erase --chat said %q, want %q...", out, want)
	}
	r, err := lc.act(t, px, "refresh", api.Request{})
	if err != nil || r.Status != 410 || !r.ChatEnded || len(r.Messages) != 0 {
		t.Fatalf("the participant of the erased chat: %v %+v", err, r)
	}
	noRowsOf(t, path, lc.id)

	out, err = ctl(pxp, "--cluster-token", token, "erase", "--user-data", "customerId=C42")
	if err != nil || !strings.Contains(out, "erased "+ended.id) || !strings.Contains(out, "final transcript") ||
		!strings.Contains(out, "1 chat erased, 0 failed") {
		t.Fatalf("ctl erase --user-data: %v\n%s", err, out)
	}
	noRowsOf(t, path, ended.id)
	if o, err := ctl(pxp, "--cluster-token", token, "erase", "--user-data", "nickname=Ann"); err == nil || !strings.Contains(o, "not indexed") {
		t.Fatalf("ctl erase by a key not indexed: %v\n%s", err, o)
	}
	if o, err := ctl(pxp, "--cluster-token", token, "erase", "--chat", "x", "--user-data", "a=b"); err == nil || !strings.Contains(o, "one of") {
		t.Fatalf("ctl erase with both: %v\n%s", err, o)
	}

	if r := other.do(t, px, "refresh", api.Request{}); r.Status != 200 || len(r.Messages) < 2 {
		t.Fatalf("another customer's chat after the erasures: %+v", r)
	}
	if n := rowsOf(t, path, other.id)["events"]; n < 2 {
		t.Fatalf("another customer's chat has %d records left", n)
	}
	var logs string
	for _, p := range c.nodes {
		logs += p.out.String()
	}
	logs += pxp.out.String()
	if strings.Count(logs, "chat erased") != 2 {
		t.Fatalf("want 2 erasures logged:\n%s", logs)
	}
	for _, secret := range []string{"text-live-8c1e", "text-live-more-11d4", "text-ended-3f7a", "C42", live.SecureKey} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the logs hold %q", secret)
		}
	}
	if _, err := opsClient(t, pxp).Transcript(context.Background(), ended.id); !api.IsStatus(err, 404) {
		t.Fatalf("transcript of the erased chat through the proxy: %v, want 404", err)
	}
}
