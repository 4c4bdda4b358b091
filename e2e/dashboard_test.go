package e2e

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
)

// shownMember is a row of the dashboard's members table, as the page shows it.
type shownMember struct {
	Name, Role, State, Incarnation string
	Place, Successor               string // "33.3%"
}

// shownPage is what the dashboard shows, read from its DOM.
type shownPage struct {
	Members   []shownMember
	Events    []string // "kind member", newest first
	Charts    int
	Peaks     map[string]string // chart -> "now 0 per sample, peak 3"
	LoginOpen bool
	Hash      string
	Kills     int // the demo's kill buttons
}

// readDashboard reads the dashboard's DOM.
const readDashboard = `({
  members: [...document.querySelectorAll('#members tbody tr')].map(tr => ({
    name: tr.dataset.member, role: tr.dataset.role, state: tr.dataset.state, incarnation: tr.dataset.incarnation,
    place: (tr.querySelector('.share.place .value') || {}).textContent || '',
    successor: (tr.querySelector('.share.successor .value') || {}).textContent || '',
  })),
  events: [...document.querySelectorAll('#events li')].map(li => li.dataset.kind + ' ' + li.dataset.member),
  charts: document.querySelectorAll('#charts .chart svg').length,
  peaks: Object.fromEntries([...document.querySelectorAll('#charts .chart')].map(c => [c.dataset.chart, c.querySelector('h3 span').textContent])),
  loginOpen: !document.getElementById('login').hidden,
  hash: location.hash,
  kills: document.querySelectorAll('button.kill').length,
})`

// percent reads "33.3%".
func percent(s string) float64 {
	var v float64
	fmt.Sscanf(strings.TrimSuffix(s, "%"), "%g", &v)
	return v
}

// liveNodes returns the rows of live chat nodes.
func (p shownPage) liveNodes() []shownMember {
	var out []shownMember
	for _, m := range p.Members {
		if m.Role == "node" && m.State == "alive" {
			out = append(out, m)
		}
	}
	return out
}

// TestDashboardInBrowser: headless Chromium loads the dashboard of a
// three-node cluster whose proxy wants the cluster token, given in the URL
// fragment. It shows every node alive, each the successor for a third of
// the chat-id space, and the shares of new chats adding up to all; a node
// killed with SIGKILL is marked dead, its death is added to the timeline and
// its shares move to the two others; once its chats went on elsewhere, the
// charts show the requests and the restores. A tab without
// the token is asked for it. No kill button shows: that is the demo's.
func TestDashboardInBrowser(t *testing.T) {
	b := newBrowser(t)
	secure := []string{"--cluster-token", "c-secret", "--gossip-key", testGossipKey}
	c := newClusterWith(t, 3, &cluster{nodeArgs: secure, proxyArgs: secure})
	px := c.addProxy("proxy-1")
	var onVictim []party
	for i := 0; i < 6 || len(onVictim) == 0; i++ {
		if r := createReply(t, px.addr, api.Request{Nickname: fmt.Sprint("Ann ", i), Text: "hi"}); r.Node == "node-2" {
			onVictim = append(onVictim, party{chatOf(r), "Ann"})
		}
	}

	guest := b.tab(t, "http://"+px.addr+"/dashboard", 30*time.Second)
	waitPage(t, guest, 15*time.Second, readDashboard, func(p shownPage) string {
		if !p.LoginOpen || len(p.Members) > 0 {
			return fmt.Sprintf("without the token: login form open %v, %d members", p.LoginOpen, len(p.Members))
		}
		return ""
	})

	tab := b.tab(t, "http://"+px.addr+"/dashboard#token=c-secret", 90*time.Second)
	before := waitPage(t, tab, 20*time.Second, readDashboard, func(p shownPage) string {
		nodes := p.liveNodes()
		if len(nodes) != 3 || p.LoginOpen || p.Charts != 5 {
			return fmt.Sprintf("%d live nodes, login open %v, %d charts: %+v", len(nodes), p.LoginOpen, p.Charts, p.Members)
		}
		var place float64
		for _, m := range nodes {
			// New chats go by load too, so only the successor shares are even.
			if su := percent(m.Successor); su < 25 || su > 42 {
				return fmt.Sprintf("%s is successor for %s, want about a third", m.Name, m.Successor)
			}
			place += percent(m.Place)
		}
		if math.Abs(place-100) > 0.3 {
			return fmt.Sprintf("the shares of new chats add up to %.1f%%", place)
		}
		if !slicesContainsPrefix(p.Events, "join node-") {
			return fmt.Sprintf("no join in the timeline: %v", p.Events)
		}
		return ""
	})
	if before.Hash != "" {
		t.Fatalf("the token stays in the address bar: %q", before.Hash)
	}
	if before.Kills != 0 {
		t.Fatalf("a proxy outside the demo shows %d kill buttons", before.Kills)
	}
	screenshot(t, tab, "dashboard-before-kill")

	victim := c.nodes["node-2"]
	inc := fmt.Sprint(incarnation(t, victim))
	victim.kill(t)
	start := time.Now()
	after := waitPage(t, tab, 20*time.Second, readDashboard, func(p shownPage) string {
		dead := false
		for _, m := range p.Members {
			if m.Name == "node-2" && m.Incarnation == inc {
				dead = m.State == "dead"
			}
		}
		if !dead {
			return fmt.Sprintf("node-2 not dead: %+v", p.Members)
		}
		if len(p.Events) == 0 || !slicesContainsPrefix(p.Events, "dead node-2") {
			return fmt.Sprintf("no death of node-2 in the timeline: %v", p.Events)
		}
		nodes := p.liveNodes()
		var place, succ float64
		for _, m := range nodes {
			place, succ = place+percent(m.Place), succ+percent(m.Successor)
			if percent(m.Successor) < 35 {
				return fmt.Sprintf("%s has %s and %s: the dead node's share has not moved", m.Name, m.Place, m.Successor)
			}
		}
		if len(nodes) != 2 || math.Abs(place-100) > 0.3 || math.Abs(succ-100) > 0.3 {
			return fmt.Sprintf("live nodes %+v share %.1f%% and %.1f%%", nodes, place, succ)
		}
		return ""
	})
	t.Logf("the page showed node-2 dead %v after SIGKILL; events %v", time.Since(start), after.Events)

	// The killed node's chats go on elsewhere: the charts show the requests
	// and the restores once the proxy has sampled them. (Whether a request
	// fails over depends on whether it or a probe first found the node gone.)
	for _, p := range onVictim {
		sendOK(t, px.addr, p, "after the kill")
	}
	charts := waitPage(t, tab, 30*time.Second, readDashboard, func(p shownPage) string {
		for _, chart := range []string{"requests", "restores"} {
			if !strings.Contains(p.Peaks[chart], "peak") || strings.HasSuffix(p.Peaks[chart], "peak 0") || strings.HasSuffix(p.Peaks[chart], "peak 0.0") {
				return fmt.Sprintf("the %s chart shows no peak: %v", chart, p.Peaks)
			}
		}
		return ""
	})
	t.Logf("charts: %v", charts.Peaks)
	screenshot(t, tab, "dashboard-after-kill")
}

// slicesContainsPrefix reports whether an element of s starts with prefix.
func slicesContainsPrefix(s []string, prefix string) bool {
	for _, e := range s {
		if strings.HasPrefix(e, prefix) {
			return true
		}
	}
	return false
}
