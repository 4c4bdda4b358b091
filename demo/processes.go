package demo

import (
	"encoding/json"
	"errors"
	"mime"
	"net"
	"net/http"
	"strings"
)

// Process is one child as GET /demo/processes shows it.
type Process struct {
	// Name is the member name (node-1, proxy).
	Name string `json:"name"`
	// Role is node or proxy.
	Role string `json:"role"`
	// Pid is the process id.
	Pid int `json:"pid"`
	// Address is the host:port of its API.
	Address string `json:"address"`
	// Running is false once the process has exited.
	Running bool `json:"running"`
}

// Processes is the answer of GET /demo/processes.
type Processes struct {
	// Processes are the children in start order: the nodes, then the proxy.
	Processes []Process `json:"processes"`
}

// Killed is the answer of POST /demo/processes/{name}/kill.
type Killed struct {
	Process
	// Signal is the signal sent: SIGKILL.
	Signal string `json:"signal"`
}

// errorAnswer is the body of a refused process request.
type errorAnswer struct {
	Error string `json:"error"`
}

// serveProcesses serves GET /demo/processes and POST
// /demo/processes/{name}/kill; rest is the path after /demo/processes.
func (f *Front) serveProcesses(w http.ResponseWriter, r *http.Request, rest string) {
	if status, why := sameOrigin(r); status != 0 {
		writeJSON(w, status, errorAnswer{why})
		return
	}
	name, action, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case rest == "" || rest == "/":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET")
			writeJSON(w, http.StatusMethodNotAllowed, errorAnswer{"use GET"})
			return
		}
		writeJSON(w, http.StatusOK, f.processes())
	case action == "kill":
		f.kill(w, r, name)
	default:
		writeJSON(w, http.StatusNotFound, errorAnswer{"no such endpoint"})
	}
}

func (f *Front) processes() Processes {
	out := Processes{Processes: make([]Process, 0, len(f.cfg.Children))}
	for _, c := range f.cfg.Children {
		out.Processes = append(out.Processes, processOf(c))
	}
	return out
}

func processOf(c *Child) Process {
	return Process{Name: c.Name, Role: c.Role, Pid: c.Pid(), Address: c.Addr, Running: c.Running()}
}

// kill sends SIGKILL to the chat node name and answers once it exited (or
// after KillWait).
func (f *Front) kill(w http.ResponseWriter, r *http.Request, name string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSON(w, http.StatusMethodNotAllowed, errorAnswer{"use POST"})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, errorAnswer{"send Content-Type: application/json"})
		return
	}
	c := f.child(name)
	switch {
	case c == nil:
		writeJSON(w, http.StatusNotFound, errorAnswer{"no process " + name})
		return
	case c.Role != RoleNode:
		writeJSON(w, http.StatusForbidden, errorAnswer{name + " carries every request of the demo: only chat nodes can be killed"})
		return
	}
	err := c.Kill(f.cfg.KillWait)
	switch {
	case errors.Is(err, ErrExited):
		writeJSON(w, http.StatusConflict, errorAnswer{name + " has already exited"})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, errorAnswer{err.Error()})
	default:
		f.cfg.Log.Info("killed a chat node with SIGKILL", "node", name, "pid", c.Pid())
		writeJSON(w, http.StatusOK, Killed{Process: processOf(c), Signal: "SIGKILL"})
	}
}

func (f *Front) child(name string) *Child {
	for _, c := range f.cfg.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// sameOrigin refuses a request another web page may have sent: one to a
// host name other than localhost (a DNS name rebound to this machine), or
// one whose Origin is not the front's own. It returns 0 when the request
// may go on, else the status and why.
func sameOrigin(r *http.Request) (int, string) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(strings.Trim(host, "[]")) == nil && host != "localhost" {
		return http.StatusForbidden, "open the demo at an IP address or localhost"
	}
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
		return http.StatusForbidden, "only the demo's own pages may do this"
	}
	return 0, ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
