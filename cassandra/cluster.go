package cassandra

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/gocql/gocql"
)

// clusterConfig translates c into gocql's configuration; gocql logs to logger.
func clusterConfig(c Config, logger *slog.Logger) (*gocql.ClusterConfig, error) {
	cc := gocql.NewCluster(c.Hosts...)
	cc.Port = c.Port
	cc.ProtoVersion = 4 // Cassandra 4.0 and later speak it; saves a version probe per connection
	cc.Consistency = c.Consistency
	cc.SerialConsistency = c.SerialConsistency
	cc.ConnectTimeout = c.ConnectTimeout
	cc.Timeout = c.RequestTimeout
	cc.WriteTimeout = c.RequestTimeout
	cc.ReconnectInterval = c.ReconnectInterval
	cc.RetryPolicy = nil // Create and Append retry LWTs themselves: see cas.go
	cc.PoolConfig.HostSelectionPolicy = hostPolicy(c.LocalDC)
	cc.Logger = gocqlLogger{logger}
	cc.Dialer = c.Dialer
	if c.Username != "" {
		cc.Authenticator = gocql.PasswordAuthenticator{Username: c.Username, Password: c.Password}
	}
	if c.TLS {
		tc, err := tlsConfig(c)
		if err != nil {
			return nil, err
		}
		cc.SslOpts = &gocql.SslOptions{Config: tc, EnableHostVerification: c.TLSVerifyHost}
	}
	return cc, nil
}

// hostPolicy sends each request to a replica of its partition, in random order so a retry
// after a node died tries another one; with a local DC, to that DC's nodes first.
func hostPolicy(localDC string) gocql.HostSelectionPolicy {
	fallback := gocql.RoundRobinHostPolicy()
	if localDC != "" {
		fallback = gocql.DCAwareRoundRobinPolicy(localDC)
	}
	return gocql.TokenAwareHostPolicy(fallback, gocql.ShuffleReplicas())
}

// tlsConfig builds the client TLS configuration. Without host verification the server's
// chain is still verified against the CA, only the name check is skipped.
func tlsConfig(c Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read TLS CA file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cannot read TLS CA file %s: no PEM certificate in it", c.TLSCAFile)
		}
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot load TLS client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if !c.TLSVerifyHost {
		tc.InsecureSkipVerify = true // replaced by verifyChain, which skips only the name check
		tc.VerifyConnection = verifyChain(tc.RootCAs)
	}
	return tc, nil
}

// verifyChain verifies the server's certificate chain against roots (nil: the system's).
func verifyChain(roots *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("cassandra node sent no TLS certificate")
		}
		opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
		for _, ic := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(ic)
		}
		_, err := cs.PeerCertificates[0].Verify(opts)
		return err
	}
}

// gocqlLogger sends gocql's log lines to slog.
type gocqlLogger struct{ l *slog.Logger }

func (g gocqlLogger) Print(v ...any) { g.log(fmt.Sprint(v...)) }

func (g gocqlLogger) Printf(format string, v ...any) { g.log(fmt.Sprintf(format, v...)) }

func (g gocqlLogger) Println(v ...any) { g.log(fmt.Sprintln(v...)) }

func (g gocqlLogger) log(msg string) {
	g.l.Info(strings.TrimSpace(msg))
}
