package demo

import (
	"embed"
	"net/http"
	"path"
	"strings"
)

// pageFiles are the demo's pages: an index, the customer chat page and the
// agent console, their scripts and one style sheet. They load nothing from
// anywhere else and speak to the chat API of the same origin.
//
//go:embed pages
var pageFiles embed.FS

// pageNames maps the page paths under /demo to their files.
var pageNames = map[string]string{
	"":          "index.html",
	"/":         "index.html",
	"/customer": "customer.html",
	"/agent":    "agent.html",
}

// pageTypes are the content types of the files served.
var pageTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// servePage serves a page or an asset; rest is the path after /demo.
func servePage(w http.ResponseWriter, r *http.Request, rest string) {
	name, ok := pageNames[rest]
	if !ok && strings.Count(rest, "/") == 1 && path.Ext(rest) != ".html" {
		name = rest[1:]
	}
	ctype, known := pageTypes[path.Ext(name)]
	b, err := pageFiles.ReadFile("pages/" + name)
	if !known || err != nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	w.Write(b)
}
