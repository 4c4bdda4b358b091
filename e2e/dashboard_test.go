package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
)

// TestDashboardInBrowser loads the proxy's dashboard in headless Chromium
// and checks what its script rendered from the cluster API: every node alive,
// and the KPI table.
func TestDashboardInBrowser(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed: the test command installs it")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	c := newCluster(t, 2)
	px := c.addProxy("proxy-1")
	create(t, px.addr, api.Request{Nickname: "Ann", Text: "hi"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=3000", "--dump-dom",
		"http://"+px.addr+"/dashboard").Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	for _, want := range []string{
		`<td>node-1</td><td>node</td><td class="alive">alive</td>`,
		`<td>node-2</td><td>node</td><td class="alive">alive</td>`,
		`<td>proxy-1</td><td>proxy</td>`,
		`<td>session_created</td><td>1</td>`,
	} {
		if !strings.Contains(dom, want) {
			t.Fatalf("the rendered dashboard lacks %s:\n%s", want, dom)
		}
	}
}
