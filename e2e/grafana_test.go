package e2e

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/chatha/chatha/api"
)

// grafanaDashboard is what the test reads of deploy/grafana/chatha.json.
type grafanaDashboard struct {
	Templating struct {
		List []struct{ Name, Type, Query string }
	}
	Panels []grafanaPanel
}

type grafanaPanel struct {
	Type, Title string
	Datasource  *struct{ Type, UID string }
	Targets     []struct {
		Expr       string
		Datasource *struct{ Type, UID string }
	}
	Panels []grafanaPanel // of a collapsed row
}

// promQLNames returns the metric names in a PromQL expression: its
// identifiers, less quoted strings, label matchers, ranges, grouping
// clauses, functions and keywords.
func promQLNames(expr string) []string {
	for _, re := range []string{`"(?:[^"\\]|\\.)*"`, `\{[^}]*\}`, `\[[^\]]*\]`, `\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`} {
		expr = regexp.MustCompile(re).ReplaceAllString(expr, " ")
	}
	keywords := map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "bool": true, "and": true, "or": true,
		"unless": true, "offset": true, "group_left": true, "group_right": true, "inf": true, "nan": true}
	var out []string
	for _, m := range regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`).FindAllStringSubmatch(expr, -1) {
		name := strings.TrimRight(strings.TrimSuffix(strings.TrimSpace(m[0]), "("), " ")
		if m[1] != "" || keywords[strings.ToLower(name)] { // a function call or a keyword
			continue
		}
		out = append(out, name)
	}
	return out
}

func TestPromQLNames(t *testing.T) {
	got := promQLNames(`histogram_quantile(0.99, sum by (le, route) (rate(chatha_x_bucket{route!~"a|b", x="y"}[$__rate_interval]))) / on(instance) group_left max without (a) (chatha_y) + count(count by (checksum) (chatha_z))`)
	if want := []string{"chatha_x_bucket", "chatha_y", "chatha_z"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// scrape returns the names of the series GET /metrics of p exports.
func scrape(t *testing.T, p *proc, token string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for series := range scrapeValues(t, p, token) {
		name, _, _ := strings.Cut(series, "{")
		names[name] = true
	}
	return names
}

// TestGrafanaDashboardMetricsExist: every metric the Grafana dashboard
// queries is exported by a real chat node or a real proxy, and every panel
// reads the dashboard's Prometheus data source variable.
func TestGrafanaDashboardMetricsExist(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana/chatha.json")
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("deploy/grafana/chatha.json: %v", err)
	}
	if len(d.Templating.List) == 0 || d.Templating.List[0].Type != "datasource" || d.Templating.List[0].Query != "prometheus" {
		t.Fatalf("the dashboard has no Prometheus data source variable: %+v", d.Templating.List)
	}
	variable := "${" + d.Templating.List[0].Name + "}"
	used := map[string][]string{} // metric -> panels
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != variable || len(p.Targets) == 0 {
				t.Errorf("panel %q: data source %+v, %d queries", p.Title, p.Datasource, len(p.Targets))
			}
			for _, q := range p.Targets {
				if q.Datasource == nil || q.Datasource.UID != variable {
					t.Errorf("panel %q: a query reads %+v", p.Title, q.Datasource)
				}
				for _, name := range promQLNames(q.Expr) {
					used[name] = append(used[name], p.Title)
				}
			}
		}
	}
	walk(d.Panels)
	if len(used) < 20 {
		t.Fatalf("only %d metrics found in the dashboard's queries: %v", len(used), used)
	}

	secure := []string{"--cluster-token", "c-secret", "--gossip-key", testGossipKey}
	c := newClusterWith(t, 1, &cluster{nodeArgs: secure, proxyArgs: secure})
	px := c.addProxy("proxy-1")
	ch := create(t, px.addr, api.Request{Nickname: "Ann", Text: "hi"})
	ch.do(t, px.addr, "send", api.Request{Message: "hello"})
	exported := scrape(t, c.nodes["node-1"], "c-secret")
	for name := range scrape(t, px, "c-secret") {
		exported[name] = true
	}
	var missing []string
	for name, panels := range used {
		if !exported[name] {
			missing = append(missing, name+" (in "+strings.Join(panels, ", ")+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("the dashboard queries metrics neither a node nor a proxy exports:\n%s", strings.Join(missing, "\n"))
	}
	t.Logf("%d metrics of the dashboard, all exported", len(used))
}
