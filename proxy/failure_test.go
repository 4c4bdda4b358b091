package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestConnFailed: only failures of the connection count against a node.
func TestConnFailed(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"reset", fmt.Errorf("reading: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true},
		{"closed before the answer", fasthttp.ErrConnectionClosed, true},
		{"closed in the answer", io.ErrUnexpectedEOF, true},
		{"timeout", fasthttp.ErrTimeout, true},
		{"dial timeout", fasthttp.ErrDialTimeout, true},
		{"TLS handshake timeout", fasthttp.ErrTLSHandshakeTimeout, true},
		{"unknown CA", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, true},
		{"not TLS", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, true},
		{"answer over the limit", fasthttp.ErrBodyTooLarge, false},
		{"headers over the buffer", &fasthttp.ErrSmallBuffer{}, false},
		{"malformed", errors.New("error when reading response headers: cannot find whitespace in the first line of response"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := connFailed(tc.err); got != tc.want {
				t.Fatalf("connFailed(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
