package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// ctl talks to a proxy's cluster API.
type ctl struct {
	base  string
	token string
	out   io.Writer
	http  *http.Client
}

const ctlUsage = "usage: chatha ctl [--proxy URL] [--cluster-token T] status | kpi | drain NAME [--wait] | undrain NAME"

func runCtl(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chatha ctl", flag.ContinueOnError)
	base := fs.String("proxy", "http://127.0.0.1:8080", "proxy `URL`")
	token := fs.String("cluster-token", "", "bearer `token` of the admin API")
	wait := fs.Bool("wait", false, "with drain: return when the node has no chats left")
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err}
	}
	if *token == "" {
		*token = os.Getenv(envName("cluster-token"))
	}
	c := &ctl{base: strings.TrimSuffix(*base, "/"), token: *token, out: stdout, http: &http.Client{Timeout: 10 * time.Second}}
	rest := fs.Args()
	if len(rest) > 1 && rest[len(rest)-1] == "--wait" { // flags after the node name
		*wait, rest = true, rest[:len(rest)-1]
	}
	switch {
	case len(rest) == 1 && rest[0] == "status":
		return c.status()
	case len(rest) == 1 && rest[0] == "kpi":
		return c.kpi()
	case len(rest) == 2 && rest[0] == "drain":
		return c.drain(rest[1], *wait)
	case len(rest) == 2 && rest[0] == "undrain":
		return c.admin(rest[1], "undrain")
	}
	return usageError{errors.New(ctlUsage)}
}

// clusterMember is a member as GET /v1/cluster returns it.
type clusterMember struct {
	Name, Role, Address, State, Mode string
	Sessions                         int
	Incarnation                      uint64
}

func (c *ctl) get(path string, v any) error {
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		return fmt.Errorf("cannot reach the proxy: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (c *ctl) members() ([]clusterMember, error) {
	var cv struct{ Members []clusterMember }
	err := c.get("/v1/cluster", &cv)
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

func (c *ctl) kpi() error {
	var k struct {
		Nodes map[string]map[string]any
		Total map[string]float64
	}
	if err := c.get("/v1/kpi", &k); err != nil {
		return err
	}
	keys := make([]string, 0, len(k.Total))
	for key := range k.Total {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		fmt.Fprintf(c.out, "%-24s %.0f\n", key, k.Total[key])
	}
	return nil
}

func (c *ctl) admin(name, action string) error {
	req, _ := http.NewRequest(http.MethodPost, c.base+"/v1/nodes/"+name+"/"+action, nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the proxy: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s %s", action, name, resp.Status, body)
	}
	fmt.Fprintf(c.out, "%s: %s\n", name, action+"ed")
	return nil
}

// drain marks the node draining and, with wait, shows its remaining chats
// until none are left.
func (c *ctl) drain(name string, wait bool) error {
	if err := c.admin(name, "drain"); err != nil || !wait {
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
