package cassandra

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gocql/gocql"
)

// Scheme is the scheme of Cassandra store URLs.
const Scheme = "cassandra"

// ParseURL reads a store URL:
//
//	cassandra://HOST[,HOST...][:PORT]/KEYSPACE?consistency=LOCAL_QUORUM&dc=DC&...
//
// Parameters (all optional): consistency, serial-consistency, dc, username, password,
// tls (true/false; implied by any tls-* file), tls-ca, tls-cert, tls-key, tls-verify-host,
// connect-timeout, timeout, reconnect-interval, probe-interval, cas-retries, create (create
// the schema at start), replication (DC:RF[,DC:RF...]; default DC:3 of dc when dc is set),
// ttl. Missing parameters keep DefaultConfig's values. IPv6 hosts go in brackets. The
// result is validated; errors name the bad part.
func ParseURL(s string) (Config, error) {
	rest, ok := strings.CutPrefix(s, Scheme+"://")
	if !ok {
		return Config{}, fmt.Errorf("cassandra: store URL must start with %s://", Scheme)
	}
	rest, query, _ := strings.Cut(rest, "?")
	hostPart, keyspace, ok := strings.Cut(rest, "/")
	if !ok || keyspace == "" {
		return Config{}, fmt.Errorf("cassandra: store URL has no keyspace (cassandra://HOST/KEYSPACE)")
	}
	cfg := DefaultConfig()
	cfg.Keyspace = keyspace
	var err error
	if cfg.Hosts, cfg.Port, err = parseHosts(hostPart, cfg.Port); err != nil {
		return Config{}, err
	}
	if err := cfg.setParams(query); err != nil {
		return Config{}, err
	}
	return cfg, cfg.Validate()
}

// parseHosts reads HOST[,HOST...] where each host may carry the same :PORT.
func parseHosts(s string, port int) ([]string, int, error) {
	if s == "" {
		return nil, 0, fmt.Errorf("cassandra: store URL has no hosts")
	}
	if strings.Contains(s, "@") {
		return nil, 0, fmt.Errorf("cassandra: credentials before the host are not supported: use username= and password=")
	}
	var hosts []string
	portSeen := ""
	for _, hp := range strings.Split(s, ",") {
		host, p, err := splitHostPort(hp)
		if err != nil {
			return nil, 0, err
		}
		if p != "" && portSeen != "" && p != portSeen {
			return nil, 0, fmt.Errorf("cassandra: hosts name two ports, %s and %s; all nodes must use one", portSeen, p)
		}
		if p != "" {
			portSeen = p
		}
		hosts = append(hosts, host)
	}
	if portSeen == "" {
		return hosts, port, nil
	}
	n, err := strconv.Atoi(portSeen)
	if err != nil || n < 1 || n > 65535 {
		return nil, 0, fmt.Errorf("cassandra: port %q is not a number in 1..65535", portSeen)
	}
	return hosts, n, nil
}

// splitHostPort splits host[:port] or [ipv6][:port]; port may be "".
func splitHostPort(hp string) (host, port string, err error) {
	if hp == "" {
		return "", "", fmt.Errorf("cassandra: empty host in store URL")
	}
	if !strings.HasPrefix(hp, "[") && strings.Count(hp, ":") > 1 {
		return "", "", fmt.Errorf("cassandra: host %q: put IPv6 addresses in brackets", hp)
	}
	if !strings.Contains(strings.TrimPrefix(hp, "["), "]") && !strings.Contains(hp, ":") {
		return hp, "", nil
	}
	if strings.HasPrefix(hp, "[") && strings.HasSuffix(hp, "]") {
		return hp[1 : len(hp)-1], "", nil
	}
	host, port, err = net.SplitHostPort(hp)
	if err != nil || host == "" || port == "" {
		return "", "", fmt.Errorf("cassandra: host %q is not HOST[:PORT]", hp)
	}
	return host, port, nil
}

// setParams applies the query parameters of a store URL.
func (c *Config) setParams(query string) error {
	q, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("cassandra: cannot parse store URL parameters: %w", err)
	}
	for k, vs := range q {
		if len(vs) > 1 {
			return fmt.Errorf("cassandra: store URL parameter %s is given %d times", k, len(vs))
		}
		if err := c.setParam(k, vs[0]); err != nil {
			return fmt.Errorf("cassandra: store URL parameter %s=%q: %w", k, vs[0], err)
		}
	}
	if q.Has("dc") && !q.Has("replication") {
		c.Replication = c.LocalDC + ":3"
	}
	if (q.Has("tls-ca") || q.Has("tls-cert") || q.Has("tls-key")) && !q.Has("tls") {
		c.TLS = true
	}
	return nil
}

// setParam applies one parameter.
func (c *Config) setParam(k, v string) error {
	strs := map[string]*string{
		"dc": &c.LocalDC, "username": &c.Username, "password": &c.Password, "tls-ca": &c.TLSCAFile,
		"tls-cert": &c.TLSCertFile, "tls-key": &c.TLSKeyFile, "replication": &c.Replication,
	}
	bools := map[string]*bool{"tls": &c.TLS, "tls-verify-host": &c.TLSVerifyHost, "create": &c.CreateSchema}
	durations := map[string]*time.Duration{
		"connect-timeout": &c.ConnectTimeout, "timeout": &c.RequestTimeout,
		"reconnect-interval": &c.ReconnectInterval, "probe-interval": &c.ProbeInterval, "ttl": &c.TTL,
	}
	switch {
	case k == "consistency":
		return c.Consistency.UnmarshalText([]byte(strings.ToUpper(v)))
	case k == "serial-consistency":
		return c.SerialConsistency.UnmarshalText([]byte(strings.ToUpper(v)))
	case k == "cas-retries":
		n, err := strconv.Atoi(v)
		c.CASRetries = n
		return err
	case strs[k] != nil:
		*strs[k] = v
	case bools[k] != nil:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not true or false")
		}
		*bools[k] = b
	case durations[k] != nil:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration such as 5s or 24h")
		}
		*durations[k] = d
	default:
		return fmt.Errorf("unknown parameter")
	}
	return nil
}

// URL renders the configuration as a store URL that ParseURL reads back to the same
// Config (Dialer aside). It contains the password.
func (c Config) URL() string {
	hosts := make([]string, len(c.Hosts))
	for i, h := range c.Hosts {
		hosts[i] = h
		if strings.Contains(h, ":") {
			hosts[i] = "[" + h + "]"
		}
	}
	q := url.Values{}
	q.Set("consistency", c.Consistency.String())
	q.Set("serial-consistency", serialName(c.SerialConsistency))
	setIf(q, "dc", c.LocalDC)
	setIf(q, "username", c.Username)
	setIf(q, "password", c.Password)
	q.Set("tls", strconv.FormatBool(c.TLS))
	setIf(q, "tls-ca", c.TLSCAFile)
	setIf(q, "tls-cert", c.TLSCertFile)
	setIf(q, "tls-key", c.TLSKeyFile)
	q.Set("tls-verify-host", strconv.FormatBool(c.TLSVerifyHost))
	q.Set("connect-timeout", c.ConnectTimeout.String())
	q.Set("timeout", c.RequestTimeout.String())
	q.Set("reconnect-interval", c.ReconnectInterval.String())
	q.Set("probe-interval", c.ProbeInterval.String())
	q.Set("cas-retries", strconv.Itoa(c.CASRetries))
	q.Set("create", strconv.FormatBool(c.CreateSchema))
	q.Set("replication", c.Replication)
	q.Set("ttl", c.TTL.String())
	return fmt.Sprintf("%s://%s:%d/%s?%s", Scheme, strings.Join(hosts, ","), c.Port, c.Keyspace, q.Encode())
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func serialName(s gocql.SerialConsistency) string {
	if s == gocql.Serial {
		return "SERIAL"
	}
	return "LOCAL_SERIAL"
}
