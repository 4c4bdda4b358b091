package main

import (
	"crypto/tls"
	"net"
	"net/url"
)

// withTLS returns the listener to serve on: ln, or with cfg, ln with TLS.
func withTLS(ln net.Listener, cfg *tls.Config) net.Listener {
	if cfg == nil {
		return ln
	}
	return tls.NewListener(ln, cfg)
}

// redact hides a password in a store URL for logs.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.RawQuery == "" {
		return s
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
