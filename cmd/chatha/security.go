package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// Values of --tls-client-auth.
const (
	clientAuthNone    = "none"
	clientAuthRequire = "require"
)

// checkSecurity checks what node and proxy share: flags that go in pairs,
// and that credentials are never sent to a member nobody authenticated.
func (c *common) checkSecurity() error {
	switch {
	case (c.tlsCert == "") != (c.tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case (c.tlsClientCert == "") != (c.tlsClientKey == ""):
		return errors.New("--tls-client-cert and --tls-client-key go together")
	case c.tlsClientCert != "" && c.tlsCA == "":
		return errors.New("--tls-client-cert is presented to nodes, which are called over TLS only with --tls-ca")
	case c.gossip == "" && (c.join != "" || c.gossipKey != "" || c.gossipKeys != ""):
		return errors.New("--join, --gossip-key and --gossip-keys need --gossip")
	case c.gossip != "" && c.gossipKey == "" && (c.clusterToken != "" || c.agentToken != ""):
		return errors.New("a token needs --gossip-key: without it any process that reaches the gossip port joins the cluster and is sent the tokens (make a key: head -c 32 /dev/urandom | base64)")
	}
	return nil
}

// checkTLS checks a node's TLS flags: nodes that serve TLS call each other
// over TLS, so a node has both its certificate and the CA, or neither.
func (f *nodeFlags) checkTLS() error {
	switch {
	case f.tlsClientAuth != clientAuthNone && f.tlsClientAuth != clientAuthRequire:
		return fmt.Errorf("--tls-client-auth is %q, want none or require", f.tlsClientAuth)
	case f.tlsClientAuth == clientAuthRequire && (f.tlsCert == "" || f.tlsCA == ""):
		return errors.New("--tls-client-auth require needs --tls-cert, --tls-key and --tls-ca (the CA of the client certificates)")
	case f.tlsCA != "" && f.tlsCert == "":
		return errors.New("--tls-ca makes every call to a node https, so this node serves https too: give --tls-cert and --tls-key")
	case f.tlsCert != "" && f.gossip != "" && f.tlsCA == "":
		return errors.New("a node that serves TLS calls the other nodes over TLS: give --tls-ca, the CA that signed the nodes' certificates")
	case f.tlsCA != "" && f.gossip == "" && f.tlsClientAuth != clientAuthRequire:
		return errors.New("--tls-ca on a node without --gossip is used only with --tls-client-auth require")
	}
	return nil
}

// checkProxyTLS checks a proxy's TLS flags: a proxy that serves TLS must not
// pass what it received (secure keys, tokens) on in clear.
func (c *common) checkProxyTLS() error {
	if c.tlsCert != "" && c.tlsCA == "" {
		return errors.New("a proxy that serves TLS calls the nodes over TLS too: give --tls-ca, the CA that signed the nodes' certificates")
	}
	return nil
}

// proxyTLS returns a proxy's server TLS config (nil: plain HTTP) and the
// config of its calls to nodes (nil: plain HTTP).
func (c *common) proxyTLS() (server, client *tls.Config, err error) {
	if err := c.checkProxyTLS(); err != nil {
		return nil, nil, err
	}
	if server, err = c.serverTLS(); err != nil {
		return nil, nil, err
	}
	if client, err = c.clientTLS(); err != nil {
		return nil, nil, err
	}
	return server, client, nil
}

// nodeTLS returns a node's server TLS config (nil: plain HTTP) and the
// config of its calls to other nodes (nil: plain HTTP).
func (f *nodeFlags) nodeTLS() (server, client *tls.Config, err error) {
	if err := f.checkTLS(); err != nil {
		return nil, nil, err
	}
	if client, err = f.clientTLS(); err != nil {
		return nil, nil, err
	}
	if server, err = f.serverTLS(); err != nil || server == nil {
		return nil, nil, err
	}
	if f.tlsClientAuth == clientAuthRequire {
		server.ClientAuth, server.ClientCAs = tls.RequireAndVerifyClientCert, client.RootCAs
	}
	return server, client, nil
}

// serverTLS returns the TLS config of the API, or nil without --tls-cert.
func (c *common) serverTLS() (*tls.Config, error) {
	if c.tlsCert == "" {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert, --tls-key: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// clientTLS returns the TLS config of calls to nodes, or nil without
// --tls-ca: nodes verified against the CA, and this member's client
// certificate (--tls-client-cert, else --tls-cert) for mutual TLS.
func (c *common) clientTLS() (*tls.Config, error) {
	if c.tlsCA == "" {
		return nil, nil
	}
	pool, err := loadCA(c.tlsCA)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	cert, key := c.tlsClientCert, c.tlsClientKey
	if cert == "" {
		cert, key = c.tlsCert, c.tlsKey
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s: %w", cert, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// loadCA reads a PEM file of CA certificates.
func loadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// warnOpen logs one warning line for each listener of this member that
// accepts unauthenticated requests. With clientCerts every API caller shows
// a certificate, so only gossip can be open.
func (c *common) warnOpen(log *slog.Logger, clientCerts bool) {
	if !clientCerts && c.clusterToken == "" {
		log.Warn("the admin API accepts unauthenticated requests: no --cluster-token", "api", c.api)
	}
	if !clientCerts && c.agentToken == "" {
		log.Warn("the agent API accepts unauthenticated requests: no --agent-token", "api", c.api)
	}
	if c.gossip != "" && c.gossipKey == "" {
		log.Warn("gossip accepts unauthenticated members: no --gossip-key", "gossip", c.gossip)
	}
	if c.cors.Open() {
		log.Warn("the chat API takes browser requests from every origin: --cors-allowed-origins is *", "api", c.api)
	}
}
