package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
)

// TestCassandraOutageClosesWithoutAck runs a chat node on the 3-node Cassandra
// of the test command and takes two of its nodes away (kill -9), so
// LOCAL_QUORUM cannot be met. The node logs the outage, acknowledges nothing it
// could not store, and closes the chat (transcript-save-on-error=close); what
// was acknowledged before is in the store once Cassandra is back.
// test.sh runs it in its Cassandra phase, after the other tests on that cluster.
func TestCassandraOutageClosesWithoutAck(t *testing.T) {
	store := os.Getenv("CHATHA_TEST_STORE")
	if !strings.HasPrefix(store, "cassandra://") || os.Getenv("CHATHA_TEST_CASSANDRA_CLUSTER") != "3" {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs the 3-node Cassandra of test.sh (CHATHA_TEST_STORE=cassandra://...)")
		}
		t.Skip("needs a 3-node Cassandra: deploy/dev/cassandra.sh start --nodes 3, and CHATHA_TEST_STORE")
	}
	a := startNode(t, "a", store, "--transcript-resend-attempts", "1", "--transcript-resend-delay", "100ms")
	c := create(t, a.addr, api.Request{Nickname: "Ann"})
	if r := c.do(t, a.addr, "send", api.Request{Message: "before"}); r.Status != 200 || r.StatusCode != api.StatusOK {
		t.Fatalf("send before the outage: %+v", r)
	}

	cassandra(t, "kill", "2")
	cassandra(t, "kill", "3")
	restarted := false
	restart := func() {
		if !restarted {
			restarted = true
			cassandra(t, "start-node", "2")
			cassandra(t, "start-node", "3")
		}
	}
	t.Cleanup(restart)
	slow, err := api.NewClient(api.ClientConfig{Addr: a.addr, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	during := apitest.Answered(t)(slow.Act(context.Background(), "support", c.id, "send", &api.Request{UserID: c.user, SecureKey: c.key, Message: "during"}))
	if during.Status != 503 || during.StatusCode != api.StatusError || !during.ChatEnded {
		t.Fatalf("send without quorum: %d %+v, want 503, statusCode 2, chat ended", during.Status, during)
	}
	waitFor(t, 30*time.Second, "the node to log the outage", func() bool {
		return strings.Contains(a.out.String(), "cassandra status changed to UNAVAILABLE")
	})
	if r := c.do(t, a.addr, "refresh", api.Request{}); !r.ChatEnded {
		t.Fatalf("the closed chat is not ended for its client: %+v", r)
	}

	restart()
	b := startNode(t, "b", store)
	lines, _ := transcript(t, b.addr, c)
	checkAcked(t, lines, []string{"before"})
}

// cassandra runs the dev Cassandra script.
func cassandra(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("../deploy/dev/cassandra.sh", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("cassandra.sh %v: %v\n%s", args, err, out)
	}
}
