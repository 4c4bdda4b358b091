package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// haproxyChecks are HAProxy's health-check and retry settings for a run.
type haproxyChecks struct {
	Name  string // what the tables call them
	Lines string // the backend's lines
}

// The HAProxy settings compared. None has HAProxy check nodes: the proxy
// overhead rows measure forwarding only.
var (
	haproxyNoChecks = haproxyChecks{Name: "no checks"}
	// haproxyOrdinary are checks as most configurations have them.
	haproxyOrdinary = haproxyChecks{Name: "ordinary checks (inter 2s fall 3)", Lines: `
    option httpchk GET /readyz
    default-server check inter 2s fall 3 rise 2`}
	// haproxyTuned are checks and retries tuned for failover.
	haproxyTuned = haproxyChecks{Name: "tuned (inter 1s fall 2, redispatch, retry-on all-retryable-errors, retries 3)", Lines: `
    option httpchk GET /readyz
    default-server check inter 1s fall 2 rise 2
    option redispatch
    retry-on all-retryable-errors
    retries 3`}
)

// haproxyConfig is HAProxy in front of the nodes: consistent hashing on the
// chat id, the 6th field of /genesys/2/chat/{service}/{chatId}/{action}.
var haproxyConfig = template.Must(template.New("haproxy").Funcs(template.FuncMap{"inc": func(i int) int { return i + 1 }}).Parse(`# Written by deploy/bench: HAProxy in front of chat nodes.
global
    nbthread {{.Threads}}
    maxconn 4096

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s
    option http-keep-alive
    option forwardfor
    http-reuse always

frontend fe
    bind {{.Listen}}
    default_backend nodes

backend nodes
    balance hash path,field(6,/)
    hash-type consistent{{.Checks.Lines}}
{{- range $i, $n := .Nodes}}
    server {{$n.Name}} {{$n.API}} id {{inc $i}}
{{- end}}
`))

// nginxConfig is nginx in front of the nodes: consistent hashing on the
// chat id taken from the path, kept-alive connections to the nodes.
var nginxConfig = template.Must(template.New("nginx").Parse(`# Written by deploy/bench: nginx in front of chat nodes.
worker_processes {{.Threads}};
daemon off;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
{{- if .Root}}
user root;
{{- end}}

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path {{.Dir}}/body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 60s;

    map $uri $chat_id {
        ~^/genesys/2/chat/[^/]+/(?<id>[^/]+) $id;
        default "";
    }

    upstream nodes {
        hash $chat_id consistent;
{{- range .Nodes}}
        server {{.API}};
{{- end}}
        keepalive 128;
    }

    server {
        listen {{.Listen}};
        location / {
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }
    }
}
`))

// frontConfig fills the HAProxy and nginx templates.
type frontConfig struct {
	Threads int
	Listen  string
	Dir     string
	Root    bool
	Checks  haproxyChecks
	Nodes   []nodeAddr
}

// nodeAddr names a node and its API address.
type nodeAddr struct{ Name, API string }

func nodeAddrs(nodes []*member) []nodeAddr {
	out := make([]nodeAddr, len(nodes))
	for i, n := range nodes {
		out[i] = nodeAddr{n.name, n.api}
	}
	return out
}

// startHAProxy starts HAProxy with threads threads in front of nodes, and
// returns it with the address it listens on.
func (b *bench) startHAProxy(name string, threads int, checks haproxyChecks, nodes []*member) (*proc, string, error) {
	listen, err := b.ports.next()
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(b.work, name+".cfg")
	fc := frontConfig{Threads: threads, Listen: listen, Checks: checks, Nodes: nodeAddrs(nodes)}
	if err := writeTemplate(path, haproxyConfig, fc); err != nil {
		return nil, "", err
	}
	p, err := b.procs.start(name, nil, "haproxy", "-db", "-f", path)
	if err != nil {
		return nil, "", err
	}
	return p, listen, waitListening(p, listen)
}

// startNginx starts nginx with threads worker processes in front of nodes,
// and returns it with the address it listens on.
func (b *bench) startNginx(name string, threads int, nodes []*member) (*proc, string, error) {
	listen, err := b.ports.next()
	if err != nil {
		return nil, "", err
	}
	dir := filepath.Join(b.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", fmt.Errorf("cannot make %s: %w", dir, err)
	}
	path := filepath.Join(dir, "nginx.conf")
	fc := frontConfig{Threads: threads, Listen: listen, Dir: dir, Root: os.Geteuid() == 0, Nodes: nodeAddrs(nodes)}
	if err := writeTemplate(path, nginxConfig, fc); err != nil {
		return nil, "", err
	}
	p, err := b.procs.start(name, nil, "nginx", "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return nil, "", err
	}
	return p, listen, waitListening(p, listen)
}

func writeTemplate(path string, t *template.Template, data any) error {
	var sb strings.Builder
	if err := t.Execute(&sb, data); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// waitListening waits until p accepts connections at addr.
func waitListening(p *proc, addr string) error {
	return pollUntil(15*time.Second, 20*time.Millisecond, p.name+" to listen on "+addr, func() (bool, error) {
		if !p.running() {
			return false, p.exited()
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, nil
		}
		c.Close()
		return true, nil
	})
}
