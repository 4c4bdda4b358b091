package main

import (
	"net"
	"net/url"

	"github.com/valyala/fasthttp"
)

// serve runs srv on ln, with TLS when cert and key are given.
func serve(srv *fasthttp.Server, ln net.Listener, cert, key string) error {
	if cert != "" {
		return srv.ServeTLS(ln, cert, key)
	}
	return srv.Serve(ln)
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
