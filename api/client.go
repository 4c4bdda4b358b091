package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// Addr is the node or proxy: host:port, or an http:// or https:// URL (required).
	Addr string
	// Token is sent as "Authorization: Bearer TOKEN" on every call; empty sends none.
	Token string
	// TLS configures https (default: the system's roots, when Addr is an https URL).
	TLS *tls.Config
	// Timeout bounds a call whose context has no deadline (default 10s).
	Timeout time.Duration
	// HostClient is the connection pool to send through (default a new one for Addr).
	HostClient *fasthttp.HostClient
}

// Client calls the chat, agent, admin and cluster APIs of one node or proxy.
// It is safe for concurrent use.
type Client struct {
	base    string // scheme://host:port
	token   string
	timeout time.Duration
	hc      *fasthttp.HostClient
}

// NewClient returns a client of the server at cfg.Addr.
func NewClient(cfg ClientConfig) (*Client, error) {
	addr, scheme := cfg.Addr, "http"
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("api client: address %q is not host:port or http(s)://host:port", addr)
		}
		addr, scheme = u.Host, u.Scheme
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	hc := cfg.HostClient
	if hc == nil {
		hc = &fasthttp.HostClient{Addr: addr, Name: "chatha", IsTLS: scheme == "https", TLSConfig: cfg.TLS}
	}
	return &Client{base: scheme + "://" + addr, token: cfg.Token, timeout: cfg.Timeout, hc: hc}, nil
}

// Addr returns the server's address, scheme://host:port.
func (c *Client) Addr() string { return c.base }

// WithToken returns a client that sends token instead, on the same connections.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// Create starts a chat of service.
func (c *Client) Create(ctx context.Context, service string, req *Request) (*Reply, error) {
	return c.chat(ctx, "/genesys/2/chat/"+url.PathEscape(service), req)
}

// Act runs action (send, refresh, startTyping, ...) in a chat as the
// participant req names.
func (c *Client) Act(ctx context.Context, service, chatID, action string, req *Request) (*Reply, error) {
	return c.chat(ctx, "/genesys/2/chat/"+url.PathEscape(service)+"/"+url.PathEscape(chatID)+"/"+url.PathEscape(action), req)
}

// Refresh reads a chat's transcript from req.TranscriptPosition (1 if unset).
func (c *Client) Refresh(ctx context.Context, service, chatID string, req *Request) (*Reply, error) {
	return c.Act(ctx, service, chatID, "refresh", req)
}

// Upload sends a file to a chat as the participant req names, as a
// multipart/form-data body with the file in part "file" and req's fields
// beside it; the reply's UserData holds its file id (chat.FileID).
func (c *Client) Upload(ctx context.Context, service, chatID string, req *Request, name, contentType string, data []byte) (*Reply, error) {
	body, ct, err := MultipartBody(req, name, contentType, data)
	if err != nil {
		return nil, err
	}
	return c.post(ctx, c.filePath(service, chatID, ""), body, ct)
}

// FileLimits asks a chat's file limits; the reply's one message holds them
// in its UserData.
func (c *Client) FileLimits(ctx context.Context, service, chatID string, req *Request) (*Reply, error) {
	return c.chat(ctx, c.filePath(service, chatID, "limits"), req)
}

// DeleteFile deletes a file of a chat as the participant req names.
func (c *Client) DeleteFile(ctx context.Context, service, chatID, fileID string, req *Request) (*Reply, error) {
	return c.chat(ctx, c.filePath(service, chatID, url.PathEscape(fileID)+"/delete"), req)
}

// Download is a downloaded file.
type Download struct {
	// Data is the file's bytes.
	Data []byte
	// ContentType and Disposition are the answer's Content-Type and
	// Content-Disposition headers.
	ContentType, Disposition string
}

// Download fetches a file of a chat as the participant req names (a POST,
// as the Genesys widget sends it); an answer that is not the file is an *Error.
func (c *Client) Download(ctx context.Context, service, chatID, fileID string, req *Request) (Download, error) {
	if req == nil {
		req = &Request{}
	}
	var d Download
	path := c.filePath(service, chatID, url.PathEscape(fileID)+"/download")
	err := c.do(ctx, fasthttp.MethodPost, path, req.Encode(), formType, func(resp *fasthttp.Response) error {
		if resp.StatusCode() != fasthttp.StatusOK {
			return errorOf(fasthttp.MethodPost, path, resp)
		}
		d = Download{Data: append([]byte(nil), resp.Body()...), ContentType: string(resp.Header.ContentType()),
			Disposition: string(resp.Header.Peek("Content-Disposition"))}
		return nil
	})
	return d, err
}

func (c *Client) filePath(service, chatID, rest string) string {
	p := "/genesys/2/chat/" + url.PathEscape(service) + "/" + url.PathEscape(chatID) + "/file"
	if rest != "" {
		p += "/" + rest
	}
	return p
}

// MultipartBody returns req's fields and a file as a multipart/form-data
// body, and its Content-Type; name "" sends no file part.
func MultipartBody(req *Request, name, contentType string, data []byte) ([]byte, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if req == nil {
		req = &Request{}
	}
	var args fasthttp.Args
	args.ParseBytes(req.Encode())
	for k, v := range args.All() {
		if err := w.WriteField(string(k), string(v)); err != nil {
			return nil, "", err
		}
	}
	if name != "" {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "file", "filename": name}))
		if contentType == "" {
			contentType = "application/octet-stream"
		}
		h.Set("Content-Type", contentType)
		part, err := w.CreatePart(h)
		if err != nil {
			return nil, "", err
		}
		part.Write(data)
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// JoinAgent adds an agent named by req to a chat; the reply has its credentials.
func (c *Client) JoinAgent(ctx context.Context, chatID string, req *Request) (*Reply, error) {
	return c.chat(ctx, "/agent/1/chat/"+url.PathEscape(chatID)+"/join", req)
}

// Queue lists the chats waiting for an agent (all nodes' when asked of a proxy).
func (c *Client) Queue(ctx context.Context) (ClusterQueue, error) {
	return call[ClusterQueue](ctx, c, fasthttp.MethodGet, "/agent/1/queue")
}

// Purge makes a node drop a chat from memory.
func (c *Client) Purge(ctx context.Context, chatID string) (Purged, error) {
	return call[Purged](ctx, c, fasthttp.MethodPost, "/v1/admin/purge/"+url.PathEscape(chatID))
}

// PurgeUpTo makes a node drop a chat from memory unless it holds records
// of it past seq: the purge a node sends after its restore stored the
// chat's records up to seq, which must not drop a later owner's copy.
func (c *Client) PurgeUpTo(ctx context.Context, chatID string, seq uint64) (Purged, error) {
	return call[Purged](ctx, c, fasthttp.MethodPost, "/v1/admin/purge/"+url.PathEscape(chatID)+"?seq="+strconv.FormatUint(seq, 10))
}

// Drain makes a node take no new chats.
func (c *Client) Drain(ctx context.Context) (NodeState, error) {
	return c.admin(ctx, "/v1/admin/drain")
}

// Undrain makes a node take new chats again.
func (c *Client) Undrain(ctx context.Context) (NodeState, error) {
	return c.admin(ctx, "/v1/admin/undrain")
}

// DrainNode asks a proxy to drain the node called name.
func (c *Client) DrainNode(ctx context.Context, name string) (NodeState, error) {
	return c.admin(ctx, "/v1/nodes/"+url.PathEscape(name)+"/drain")
}

// UndrainNode asks a proxy to undrain the node called name.
func (c *Client) UndrainNode(ctx context.Context, name string) (NodeState, error) {
	return c.admin(ctx, "/v1/nodes/"+url.PathEscape(name)+"/undrain")
}

func (c *Client) admin(ctx context.Context, path string) (NodeState, error) {
	return call[NodeState](ctx, c, fasthttp.MethodPost, path)
}

// KPI returns a node's counters.
func (c *Client) KPI(ctx context.Context) (KPI, error) {
	return call[KPI](ctx, c, fasthttp.MethodGet, "/v1/kpi")
}

// NodeKPI asks a proxy for the counters of the node called name, which the
// proxy reads from that node itself (not from gossip).
func (c *Client) NodeKPI(ctx context.Context, name string) (KPI, error) {
	return call[KPI](ctx, c, fasthttp.MethodGet, "/v1/nodes/"+url.PathEscape(name)+"/kpi")
}

// ClusterKPI returns every node's counters and their sums, through a proxy.
func (c *Client) ClusterKPI(ctx context.Context) (KPISummary, error) {
	return call[KPISummary](ctx, c, fasthttp.MethodGet, "/v1/kpi")
}

// Cluster returns a proxy's view of the cluster.
func (c *Client) Cluster(ctx context.Context) (ClusterView, error) {
	return call[ClusterView](ctx, c, fasthttp.MethodGet, "/v1/cluster")
}

// Healthz asks whether the server runs.
func (c *Client) Healthz(ctx context.Context) (Health, error) {
	return call[Health](ctx, c, fasthttp.MethodGet, "/healthz")
}

// Readyz asks a node whether it can serve; a node that cannot answers an error.
func (c *Client) Readyz(ctx context.Context) (Readiness, error) {
	return call[Readiness](ctx, c, fasthttp.MethodGet, "/readyz")
}

// chat posts req to a chat API path; every answer that is JSON is a reply,
// whatever its status.
func (c *Client) chat(ctx context.Context, path string, req *Request) (*Reply, error) {
	if req == nil {
		req = &Request{}
	}
	return c.post(ctx, path, req.Encode(), formType)
}

// formType is the Content-Type of a form body.
const formType = "application/x-www-form-urlencoded"

// post sends a body of contentType to a chat API path; every answer that is
// JSON is a reply, whatever its status.
func (c *Client) post(ctx context.Context, path string, body []byte, contentType string) (*Reply, error) {
	var reply *Reply
	err := c.do(ctx, fasthttp.MethodPost, path, body, contentType, func(resp *fasthttp.Response) error {
		var err error
		reply, err = DecodeReply(resp)
		return err
	})
	return reply, err
}

// call sends an operations request and returns its 200 answer as a T; any
// other answer is an *Error.
func call[T any](ctx context.Context, c *Client, method, path string) (T, error) {
	var out T
	return out, c.decode(ctx, method, path, &out)
}

// decode sends an operations request and decodes a 200 answer into out; any
// other answer is an *Error.
func (c *Client) decode(ctx context.Context, method, path string, out any) error {
	return c.do(ctx, method, path, nil, "", func(resp *fasthttp.Response) error {
		if resp.StatusCode() != fasthttp.StatusOK {
			return errorOf(method, path, resp)
		}
		if err := json.Unmarshal(resp.Body(), out); err != nil {
			return fmt.Errorf("%s %s: cannot decode the answer: %w", method, path, err)
		}
		return nil
	})
}

// do sends one request, with body of contentType unless body is nil, and
// hands the response to read before it is released.
func (c *Client) do(ctx context.Context, method, path string, body []byte, contentType string, read func(*fasthttp.Response) error) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(c.base + path)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.SetContentType(contentType)
		req.SetBody(body)
	}
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		req.Header.Set("X-Request-Id", id)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(c.timeout)
	}
	if err := c.hc.DoDeadline(req, resp, deadline); err != nil {
		return fmt.Errorf("cannot reach %s: %w", c.base, err)
	}
	return read(resp)
}

// errorOf turns an answer that is not a success into an *Error: the one it
// carries, or one that says the status.
func errorOf(method, path string, resp *fasthttp.Response) *Error {
	e := &Error{HTTPStatus: resp.StatusCode(), StatusCode: StatusError,
		Message: fmt.Sprintf("%s %s answered %d", method, path, resp.StatusCode())}
	var a Answer
	if json.Unmarshal(resp.Body(), &a) == nil && len(a.Errors) > 0 {
		first := a.Errors[0]
		e.StatusCode, e.Code, e.Message, e.Advice, e.Ended = a.StatusCode, first.Code, first.Message, first.Advice, a.ChatEnded
	}
	return e
}

// requestIDKey is the context key of WithRequestID.
type requestIDKey struct{}

// WithRequestID returns a context whose chat calls carry id as X-Request-Id,
// so that sending one again is never applied twice.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// IsStatus reports whether err is an answer with HTTP status status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.HTTPStatus == status
}
