package cassandra

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gocql/gocql"
)

// Config configures a Store.
type Config struct {
	// Hosts are the contact points: host names or IP addresses, without port (default 127.0.0.1).
	Hosts []string
	// Port is the CQL port of every host (default 9042).
	Port int
	// Keyspace holds chatha's tables: lower case letters, digits and _, at most 48 (default chatha).
	Keyspace string
	// LocalDC is the data centre whose nodes coordinate requests; LOCAL_* levels count
	// replicas there. Empty: any data centre (default empty).
	LocalDC string
	// Consistency is the level of reads, plain writes and the commit of LWTs (default LOCAL_QUORUM).
	Consistency gocql.Consistency
	// SerialConsistency is the level of LWTs and of restore reads (default LOCAL_SERIAL).
	SerialConsistency gocql.SerialConsistency
	// Username and Password log in with PasswordAuthenticator; both empty: no login.
	Username string
	// Password is Username's password.
	Password string
	// TLS encrypts client connections (default false).
	TLS bool
	// TLSCAFile is a PEM file of the CAs that sign the nodes' certificates; empty: system roots.
	TLSCAFile string
	// TLSCertFile and TLSKeyFile are a PEM client certificate and key; both or neither.
	TLSCertFile string
	// TLSKeyFile is the PEM private key of TLSCertFile.
	TLSKeyFile string
	// TLSVerifyHost checks that a node's certificate names its address (default true). Off,
	// the certificate chain is still verified against TLSCAFile.
	TLSVerifyHost bool
	// ConnectTimeout bounds dialling and the start-up handshake of a connection (default 5s).
	ConnectTimeout time.Duration
	// RequestTimeout bounds one request to one node (default 5s).
	RequestTimeout time.Duration
	// ReconnectInterval is how often nodes marked down are dialled again (default 2s).
	ReconnectInterval time.Duration
	// ProbeInterval is how often the availability watch probes Cassandra (default 2s).
	ProbeInterval time.Duration
	// CASRetries is how many times an LWT whose outcome is unknown (timeout, lost
	// connection) is tried again before Create or Append gives up (default 3).
	CASRetries int
	// CreateSchema creates the keyspace and tables at start when missing (default false).
	CreateSchema bool
	// Replication is the keyspace's NetworkTopologyStrategy, DC:RF[,DC:RF...], used only
	// when the schema is created (default datacenter1:3).
	Replication string
	// TTL is how long a chat lives after its last write; claims of create request ids
	// live this long after the create; transcripts never expire (default 24h).
	TTL time.Duration
	// Dialer opens connections; nil: a net.Dialer. Tests count bytes with it.
	Dialer gocql.Dialer
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{
		Hosts:             []string{"127.0.0.1"},
		Port:              9042,              // Cassandra's CQL port
		Keyspace:          "chatha",          // what deploy/cassandra/schema.cql creates
		Consistency:       gocql.LocalQuorum, // survives one replica of three down, stays in the DC
		SerialConsistency: gocql.LocalSerial, // Paxos within the local DC, as LOCAL_QUORUM
		TLSVerifyHost:     true,              // a certificate must name the node it came from
		ConnectTimeout:    5 * time.Second,   // a live node answers in milliseconds
		RequestTimeout:    5 * time.Second,   // above Cassandra's 2 s write and 1.8 s CAS timeouts
		ReconnectInterval: 2 * time.Second,   // a restarted node takes load again within seconds
		ProbeInterval:     2 * time.Second,   // status changes are logged within seconds
		CASRetries:        3,                 // rides out a node kill and Paxos contention
		Replication:       "datacenter1:3",   // three replicas: LOCAL_QUORUM survives one loss
		TTL:               24 * time.Hour,    // outlives any live chat; orphans clean themselves up
	}
}

// DefaultLocalConfig returns defaults for one Cassandra node on this machine (tests, laptops):
// one replica and the schema created at start.
func DefaultLocalConfig() Config {
	c := DefaultConfig()
	c.Replication = "datacenter1:1"
	c.CreateSchema = true
	return c
}

var (
	keyspaceRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)
	dcRE       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// Validate reports the first field that is out of range.
func (c Config) Validate() error {
	if err := c.validateHosts(); err != nil {
		return err
	}
	checks := []struct {
		bad bool
		msg string
	}{
		{c.Port < 1 || c.Port > 65535, fmt.Sprintf("Port %d is not in 1..65535", c.Port)},
		{!keyspaceRE.MatchString(c.Keyspace), fmt.Sprintf("Keyspace %q must be 1 to 48 lower case letters, digits or _, starting with a letter", c.Keyspace)},
		{c.LocalDC != "" && !dcRE.MatchString(c.LocalDC), fmt.Sprintf("LocalDC %q is not a data centre name", c.LocalDC)},
		{!validConsistency(c.Consistency), fmt.Sprintf("Consistency %v is not one of ONE, TWO, THREE, QUORUM, ALL, LOCAL_QUORUM, EACH_QUORUM, LOCAL_ONE", c.Consistency)},
		{c.SerialConsistency != gocql.Serial && c.SerialConsistency != gocql.LocalSerial, fmt.Sprintf("SerialConsistency %v is not SERIAL or LOCAL_SERIAL", c.SerialConsistency)},
		{(c.Username == "") != (c.Password == ""), "Username and Password must be set together"},
		{(c.TLSCertFile == "") != (c.TLSKeyFile == ""), "TLSCertFile and TLSKeyFile must be set together"},
		{!c.TLS && (c.TLSCAFile != "" || c.TLSCertFile != ""), "TLSCAFile or TLSCertFile is set but TLS is off"},
		{c.ConnectTimeout <= 0, "ConnectTimeout must be positive"},
		{c.RequestTimeout <= 0, "RequestTimeout must be positive"},
		{c.ReconnectInterval <= 0, "ReconnectInterval must be positive"},
		{c.ProbeInterval <= 0, "ProbeInterval must be positive"},
		{c.CASRetries < 0, "CASRetries must not be negative"},
	}
	for _, ch := range checks {
		if ch.bad {
			return errors.New("cassandra: " + ch.msg)
		}
	}
	if err := checkTTL(c.TTL); err != nil {
		return err
	}
	return c.validateReplication()
}

func (c Config) validateHosts() error {
	if len(c.Hosts) == 0 {
		return errors.New("cassandra: Hosts is empty")
	}
	for _, h := range c.Hosts {
		if h == "" || strings.ContainsAny(h, " \t\r\n,/?#@[]") {
			return fmt.Errorf("cassandra: host %q is not a host name or IP address", h)
		}
	}
	return nil
}

func (c Config) validateReplication() error {
	rs, err := parseReplication(c.Replication)
	if err != nil {
		return err
	}
	if c.CreateSchema && c.LocalDC != "" && !rs.has(c.LocalDC) {
		return fmt.Errorf("cassandra: Replication %q has no replicas in LocalDC %q", c.Replication, c.LocalDC)
	}
	return nil
}

// maxTTL is the largest TTL: a chat's cells are kept for up to 1.5 times the TTL
// (keepSeconds), and Cassandra's largest TTL is 20 years.
const maxTTL = 630720000 * time.Second * 2 / 3

func checkTTL(ttl time.Duration) error {
	if ttl < time.Second || ttl > maxTTL || ttl%time.Second != 0 {
		return fmt.Errorf("cassandra: TTL %v must be whole seconds between 1s and 13 years", ttl)
	}
	return nil
}

func validConsistency(c gocql.Consistency) bool {
	switch c {
	case gocql.One, gocql.Two, gocql.Three, gocql.Quorum, gocql.All,
		gocql.LocalQuorum, gocql.EachQuorum, gocql.LocalOne:
		return true
	}
	return false
}

// dcReplicas is one data centre's replication factor.
type dcReplicas struct {
	dc string
	rf int
}

// replication is a parsed Config.Replication, in the order given.
type replication []dcReplicas

func (r replication) has(dc string) bool {
	for _, d := range r {
		if d.dc == dc {
			return true
		}
	}
	return false
}

// parseReplication reads DC:RF[,DC:RF...].
func parseReplication(s string) (replication, error) {
	if s == "" {
		return nil, errors.New("cassandra: Replication is empty, want DC:RF[,DC:RF...]")
	}
	var out replication
	for _, part := range strings.Split(s, ",") {
		dc, rfs, ok := strings.Cut(part, ":")
		rf, err := strconv.Atoi(rfs)
		switch {
		case !ok || !dcRE.MatchString(dc):
			return nil, fmt.Errorf("cassandra: Replication part %q is not DC:RF", part)
		case err != nil || rf < 1 || rf > 99:
			return nil, fmt.Errorf("cassandra: Replication factor %q of %s is not a number in 1..99", rfs, dc)
		case out.has(dc):
			return nil, fmt.Errorf("cassandra: Replication names data centre %s twice", dc)
		}
		out = append(out, dcReplicas{dc: dc, rf: rf})
	}
	return out, nil
}

// cql renders the replication as a CQL map.
func (r replication) cql() string {
	var b strings.Builder
	b.WriteString("{'class': 'NetworkTopologyStrategy'")
	for _, d := range r {
		fmt.Fprintf(&b, ", '%s': %d", d.dc, d.rf)
	}
	b.WriteString("}")
	return b.String()
}
