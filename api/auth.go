package api

import (
	"bytes"
	"crypto/subtle"

	"github.com/valyala/fasthttp"
)

// Authorized reports whether the request carries token as its bearer token,
// compared in constant time; an empty token lets everyone in.
func Authorized(ctx *fasthttp.RequestCtx, token string) bool {
	if token == "" {
		return true
	}
	got, ok := bytes.CutPrefix(ctx.Request.Header.Peek("Authorization"), []byte("Bearer "))
	return ok && subtle.ConstantTimeCompare(got, []byte(token)) == 1
}

// BearerToken returns the request's bearer token, or "".
func BearerToken(ctx *fasthttp.RequestCtx) string {
	got, _ := bytes.CutPrefix(ctx.Request.Header.Peek("Authorization"), []byte("Bearer "))
	return string(got)
}
