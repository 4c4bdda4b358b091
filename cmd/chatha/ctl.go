package main

import (
	"context"
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

const ctlUsage = "usage: chatha ctl [--proxy URL] [--cluster-token T] [--config FILE] status | kpi | drain NAME [--wait] | undrain NAME"

func runCtl(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chatha ctl", flag.ContinueOnError)
	base := fs.String("proxy", "http://127.0.0.1:8080", "proxy `URL`")
	token := fs.String("cluster-token", "", "bearer `token` of the admin API")
	config := fs.String("config", "", "YAML config `file` (keys proxy, cluster-token)")
	wait := fs.Bool("wait", false, "with drain: return when the node has no chats left")
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
	client, err := api.NewClient(api.ClientConfig{Addr: *base, Token: *token, Timeout: ctlTimeout})
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
// until none are left.
func (c *ctl) drain(name string, wait bool) error {
	if err := c.admin(name, "drain", c.client.DrainNode); err != nil || !wait {
		return err
	}
	start := -1
	for {
		left, err := c.sessionsOf(name)
		if err != nil {
			return err
		}
		start = max(start, left, 1) // the count can grow while it drains (restores)
		done := (start - left) * 30 / start
		fmt.Fprintf(c.out, "\rdraining %s [%s%s] %d chats left ", name, strings.Repeat("#", done), strings.Repeat(".", 30-done), left)
		if left == 0 {
			fmt.Fprintln(c.out, "\ndrained: the node can be stopped")
			return nil
		}
		time.Sleep(time.Second)
	}
}

func (c *ctl) sessionsOf(name string) (int, error) {
	ms, err := c.members()
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if m.Name == name && m.Role == "node" && (m.State == "alive" || m.State == "suspect") {
			return m.Sessions, nil
		}
	}
	return 0, fmt.Errorf("%s is not a live chat node", name)
}
