package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chatha/chatha/api"
)

// ctl talks to a proxy's cluster API.
type ctl struct {
	client *api.Client
	out    io.Writer
}

// ctlTimeout bounds each call to the proxy.
const ctlTimeout = 10 * time.Second

const ctlUsage = "usage: chatha ctl [--proxy URL] [--cluster-token T] [--tls-ca FILE] [--config FILE] status | kpi | drain NAME [--wait] | undrain NAME | transcript CHATID | erase --chat CHATID | erase --user-data KEY=VALUE"

func runCtl(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chatha ctl", flag.ContinueOnError)
	base := fs.String("proxy", "http://127.0.0.1:8080", "proxy `URL`")
	token := fs.String("cluster-token", "", "bearer `token` of the admin API")
	ca := fs.String("tls-ca", "", "PEM CA `file` that signed an https proxy's certificate (default: the system's)")
	config := fs.String("config", "", "YAML config `file` (keys proxy, cluster-token, tls-ca)")
	wait := fs.Bool("wait", false, "with drain: return when the node itself reports no chats left")
	given, err := parseCommandLine(fs, args, stderr)
	if err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) > 1 && rest[len(rest)-1] == "--wait" { // flags after the node name
		*wait, given["wait"], rest = true, true, rest[:len(rest)-1]
	}
	if err := fillFlags(fs, given, config); err != nil {
		return err
	}
	if *wait && (len(rest) == 0 || rest[0] != "drain") {
		return usageError{errors.New("--wait goes with drain only")}
	}
	cc := api.ClientConfig{Addr: *base, Token: *token, Timeout: ctlTimeout}
	https := strings.HasPrefix(*base, "https://")
	if given["tls-ca"] && !https {
		return usageError{errors.New("--tls-ca is for an https:// --proxy")}
	}
	// CHATHA_TLS_CA may be set for a node whose drain hook runs ctl against
	// its own proxy over http; it is used only for an https proxy.
	if *ca != "" && https {
		pool, err := loadCA(*ca)
		if err != nil {
			return usageError{err}
		}
		cc.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	client, err := api.NewClient(cc)
	if err != nil {
		return usageError{fmt.Errorf("--proxy: %w", err)}
	}
	c := &ctl{client: client, out: stdout}
	switch {
	case len(rest) == 1 && rest[0] == "status":
		return c.status()
	case len(rest) == 1 && rest[0] == "kpi":
		return c.kpi()
	case len(rest) == 2 && rest[0] == "drain":
		return c.drain(rest[1], *wait)
	case len(rest) == 2 && rest[0] == "undrain":
		return c.admin(rest[1], "undrain", c.client.UndrainNode)
	case len(rest) == 2 && rest[0] == "transcript":
		return c.transcript(rest[1])
	case len(rest) >= 1 && rest[0] == "erase":
		return c.erase(rest[1:], stderr)
	}
	return usageError{errors.New(ctlUsage)}
}

func (c *ctl) members() ([]api.Member, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	cv, err := c.client.Cluster(ctx)
	return cv.Members, err
}

func (c *ctl) status() error {
	ms, err := c.members()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tROLE\tSTATE\tMODE\tSESSIONS\tADDRESS")
	for _, m := range ms {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", m.Name, m.Role, m.State, m.Mode, m.Sessions, m.Address)
	}
	return w.Flush()
}

// kpi prints the cluster's summed counters, one per line, by name.
func (c *ctl) kpi() error {
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	k, err := c.client.ClusterKPI(ctx)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(k.Total) // the counters by their API names
	var total map[string]float64
	if err := json.Unmarshal(b, &total); err != nil {
		return fmt.Errorf("BUG: KPI sums are not all numbers: %w", err)
	}
	for _, key := range slices.Sorted(maps.Keys(total)) {
		fmt.Fprintf(c.out, "%-24s %.0f\n", key, total[key])
	}
	return nil
}

func (c *ctl) admin(name, action string, call func(context.Context, string) (api.NodeState, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	if _, err := call(ctx, name); err != nil {
		return fmt.Errorf("%s %s: %w", action, name, err)
	}
	fmt.Fprintf(c.out, "%s: %s\n", name, action+"ed")
	return nil
}

// drain marks the node draining and, with wait, shows its remaining chats
// until the node itself (through the proxy, not gossip, which lags) reports
// that it is draining and holds no live chat.
func (c *ctl) drain(name string, wait bool) error {
	if err := c.admin(name, "drain", c.client.DrainNode); err != nil || !wait {
		return err
	}
	start := -1
	for {
		k, err := c.nodeKPI(name)
		if err != nil {
			return err
		}
		if k.Mode != "draining" {
			return fmt.Errorf("%s is %s, no longer draining (undrained, or restarted)", name, k.Mode)
		}
		left := k.SessionsCurrent
		start = max(start, left, 1) // the count can grow while it drains (restores)
		done := (start - left) * 30 / start
		fmt.Fprintf(c.out, "\rdraining %s [%s%s] %d chats left ", name, strings.Repeat("#", done), strings.Repeat(".", 30-done), left)
		if left == 0 {
			fmt.Fprintln(c.out, "\ndrained: the node can be stopped")
			return nil
		}
		time.Sleep(time.Second) // progress for a person to read, not a wait for a condition
	}
}

// nodeKPI asks the proxy for the node's own counters.
func (c *ctl) nodeKPI(name string) (api.KPI, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	k, err := c.client.NodeKPI(ctx, name)
	if err != nil {
		return k, fmt.Errorf("cannot ask %s how many chats it holds: %w", name, err)
	}
	return k, nil
}
