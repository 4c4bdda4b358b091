package cometdtest

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// endpoint is the path of the CometD endpoint (cometd.Path).
const endpoint = "/genesys/cometd"

// Raw speaks Bayeux on a bare socket: HTTP/1.1 long-polling, or a minimal
// WebSocket (masked text frames out, unmasked frames in). It costs its
// process a socket and a small buffer, no goroutine, so one process can
// hold many thousands: memory benchmarks measure the server's side alone.
// Its methods return errors, never fail a test: it runs in benchmark
// client processes and on goroutines of their own.
type Raw struct {
	c    net.Conn
	r    *bufio.Reader
	ws   bool
	addr string
	// ClientID is the session's clientId once Dial returned.
	ClientID string
}

// DialRaw connects to the server at addr (host:port) with d, upgrades to a
// WebSocket when ws is set, handshakes and sends the first connect
// (answered at once). It gives up after 30 seconds.
func DialRaw(d net.Dialer, addr string, ws bool) (*Raw, error) {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	rc := &Raw{c: c, r: bufio.NewReaderSize(c, 4096), ws: ws, addr: addr}
	if err := rc.setUp(); err != nil {
		_ = c.Close()
		return nil, err
	}
	return rc, nil
}

// Conn returns the socket.
func (rc *Raw) Conn() net.Conn { return rc.c }

func (rc *Raw) typ() string {
	if rc.ws {
		return "websocket"
	}
	return "long-polling"
}

func (rc *Raw) setUp() error {
	if rc.ws {
		if err := rc.upgrade(); err != nil {
			return err
		}
	}
	_ = rc.c.SetDeadline(time.Now().Add(30 * time.Second))
	defer rc.c.SetDeadline(time.Time{})
	out, err := rc.RoundTrip("handshake", `[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["`+rc.typ()+`"]}]`)
	if err != nil {
		return err
	}
	var hs []Message
	if err := json.Unmarshal(out, &hs); err != nil || len(hs) != 1 || hs[0].ClientID == "" {
		return fmt.Errorf("handshake answer %s: %v", out, err)
	}
	rc.ClientID = hs[0].ClientID
	_, err = rc.RoundTrip("connect", `[{"channel":"/meta/connect","clientId":"`+rc.ClientID+`","connectionType":"`+rc.typ()+`","advice":{"timeout":0}}]`)
	return err
}

// RequestChat creates a chat of service as nickname and returns the
// reply's data: the chat's id, the client's userId and secureKey, its first
// events.
func (rc *Raw) RequestChat(service, nickname string) (Note, error) {
	_ = rc.c.SetDeadline(time.Now().Add(30 * time.Second))
	defer rc.c.SetDeadline(time.Time{})
	data, _ := json.Marshal(map[string]string{"operation": "requestChat", "nickname": nickname})
	out, err := rc.RoundTrip("", `[{"channel":"/service/chatV2/`+service+`","clientId":"`+rc.ClientID+`","id":"1","data":`+string(data)+`}]`)
	if err != nil {
		return Note{}, err
	}
	notes, _ := parseBody(out)
	for _, n := range notes {
		if n.ID == "1" && n.StatusCode == 0 && n.SecureKey != "" {
			return n, nil
		}
	}
	return Note{}, fmt.Errorf("requestChat answer %s", out)
}

// Hold sends a connect for the server to hold: over WebSocket its reply
// comes later in ReadFrame; over long-polling it is the answer of the
// request it sends, which the caller reads with ReadResponse.
func (rc *Raw) Hold() error {
	held := `[{"channel":"/meta/connect","clientId":"` + rc.ClientID + `","connectionType":"` + rc.typ() + `"}]`
	if rc.ws {
		return rc.writeFrame(held)
	}
	return rc.writeRequest("connect", held)
}

// RoundTrip sends one body and reads its answer.
func (rc *Raw) RoundTrip(suffix, body string) ([]byte, error) {
	if rc.ws {
		if err := rc.writeFrame(body); err != nil {
			return nil, err
		}
		return rc.ReadFrame()
	}
	if err := rc.writeRequest(suffix, body); err != nil {
		return nil, err
	}
	return rc.ReadResponse()
}

// ReadResponse reads one long-polling answer.
func (rc *Raw) ReadResponse() ([]byte, error) {
	resp, err := http.ReadResponse(rc.r, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, out)
	}
	return out, err
}

func (rc *Raw) writeRequest(suffix, body string) error {
	_, err := fmt.Fprintf(rc.c, "POST %s/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		endpoint, suffix, rc.addr, len(body), body)
	return err
}

func (rc *Raw) upgrade() error {
	var key [16]byte
	_, _ = rand.Read(key[:])
	if _, err := fmt.Fprintf(rc.c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		endpoint, rc.addr, base64.StdEncoding.EncodeToString(key[:])); err != nil {
		return err
	}
	resp, err := http.ReadResponse(rc.r, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("upgrade: HTTP %d", resp.StatusCode)
	}
	return nil
}

// writeFrame writes one masked text frame.
func (rc *Raw) writeFrame(payload string) error {
	hdr := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	body := []byte(payload)
	for i := range body {
		body[i] ^= mask[i%4]
	}
	_, err := rc.c.Write(append(hdr, body...))
	return err
}

// ReadFrame reads one unmasked frame from the server.
func (rc *Raw) ReadFrame() ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(rc.r, h[:]); err != nil {
		return nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(rc.r, l[:]); err != nil {
			return nil, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(rc.r, l[:]); err != nil {
			return nil, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	if n > 1<<20 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	out := make([]byte, n)
	_, err := io.ReadFull(rc.r, out)
	return out, err
}

// parseBody returns the notifications in a body of Bayeux messages, and
// whether it holds the reply to a connect.
func parseBody(body []byte) (notes []Note, connect bool) {
	var msgs []Message
	if json.Unmarshal(body, &msgs) != nil {
		return nil, false
	}
	for _, m := range msgs {
		if m.Channel == "/meta/connect" {
			connect = true
		}
		if m.Successful != nil || len(m.Data) == 0 || strings.HasPrefix(m.Channel, "/meta/") {
			continue
		}
		var n Note
		if json.Unmarshal(m.Data, &n) == nil {
			n.Channel, n.ID = m.Channel, m.ID
			notes = append(notes, n)
		}
	}
	return notes, connect
}

// Listen reads what the server sends until the socket fails, hands every
// notification to each (nil: none) with the time it was read, and sends a
// new connect whenever the held one is answered, as a real client does, so
// the session lives on. It returns the error that ended it. It must follow
// Hold.
func (rc *Raw) Listen(each func(n Note, at time.Time)) error {
	for {
		var body []byte
		var err error
		if rc.ws {
			body, err = rc.ReadFrame()
		} else {
			body, err = rc.ReadResponse()
		}
		if err != nil {
			return err
		}
		at := time.Now()
		notes, connect := parseBody(body)
		if each != nil {
			for _, n := range notes {
				each(n, at)
			}
		}
		if connect || !rc.ws { // a long-polling answer is always the held connect's
			if err := rc.Hold(); err != nil {
				return err
			}
		}
	}
}

// Close closes the socket.
func (rc *Raw) Close() error { return rc.c.Close() }

// OpenIdle opens n clients of one transport against the server at addr, 32
// at a time, each ending with a held connect (Hold); with chat, each first
// creates a chat of service "bench". It returns them, or the first error
// (having closed what it opened). The clients come from 127.0.1.2 to
// 127.0.1.33, so that one source address does not run out of ports.
func OpenIdle(addr string, n int, ws, chat bool) ([]*Raw, error) {
	conns := make([]*Raw, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for w := range 32 {
		wg.Go(func() {
			d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(2+w))}}
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, err := openIdle(d, addr, ws, chat)
				if err != nil {
					select {
					case errs <- fmt.Errorf("client %d: %w", i, err):
					default:
					}
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
		return nil, err
	default:
	}
	return conns, nil
}

// openIdle opens one idle client.
func openIdle(d net.Dialer, addr string, ws, chat bool) (*Raw, error) {
	rc, err := DialRaw(d, addr, ws)
	if err != nil {
		return nil, err
	}
	if chat {
		if _, err := rc.RequestChat("bench", "idle"); err != nil {
			_ = rc.c.Close()
			return nil, err
		}
	}
	if err := rc.Hold(); err != nil {
		_ = rc.c.Close()
		return nil, err
	}
	return rc, nil
}

// SetFileLimit raises the soft RLIMIT_NOFILE to at least n, and the hard
// one when allowed.
func SetFileLimit(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= n {
		return nil
	}
	lim.Cur, lim.Max = n, max(lim.Max, n)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("cannot raise the open-file limit to %d (hard limit %d): %w", n, lim.Max, err)
	}
	return nil
}
