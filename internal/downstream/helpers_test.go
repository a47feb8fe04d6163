package downstream

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hang bounds how long a test waits for something that should happen, so
// that a bug fails the test instead of hanging it.
const hang = 10 * time.Second

// rig is a Server on a loopback listener, with its log and its connection
// states recorded.
type rig struct {
	*Server
	addr   string
	served chan error

	mu     sync.Mutex
	log    bytes.Buffer
	states []http.ConnState
}

// newRig serves h and, when the test ends, closes the server and checks
// that every goroutine it started has ended.
func newRig(t *testing.T, o Options, h http.HandlerFunc) *rig {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() { settle(t, before) })
	r := &rig{served: make(chan error, 1)}
	o.Handler = h
	o.ErrorLog = log.New(lockedWriter{r}, "", 0)
	o.ConnState = func(_ net.Conn, s http.ConnState) {
		r.mu.Lock()
		r.states = append(r.states, s)
		r.mu.Unlock()
	}
	r.Server = New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go func() { r.served <- r.Serve(ln) }()
	t.Cleanup(func() {
		r.Close()
		if err := <-r.served; err != http.ErrServerClosed {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return r
}

type lockedWriter struct{ r *rig }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	return w.r.log.Write(p)
}

func (r *rig) logged() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

func (r *rig) connStates() []http.ConnState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.ConnState(nil), r.states...)
}

func (r *rig) url() string { return "http://" + r.addr }

// client is a net/http client of its own, whose idle connections end with
// the test.
func client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// settle waits for the goroutine count to fall back to before.
func settle(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(hang)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines leaked: %d, was %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// raw is a client connection that the test writes bytes on.
type raw struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *raw {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(hang))
	return &raw{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *raw) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one response to a request with method, and its whole body.
func (c *raw) read(method string) (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading body: %v", err)
	}
	return resp, string(b)
}

// closed reports whether the server closed the connection, with nothing
// more sent.
func (c *raw) closed() bool {
	c.t.Helper()
	b, err := c.br.ReadByte()
	if err == nil {
		c.t.Errorf("unexpected byte %q (buffered %d) where a close was expected", b, c.br.Buffered())
		return false
	}
	return err == io.EOF || strings.Contains(err.Error(), "reset")
}

func post(path, body string, extra ...string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + strings.Join(extra, "") +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func get(path string, extra ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + strings.Join(extra, "") + "\r\n"
}

// echo answers with the request body.
func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/plain")
	w.Write(b)
}

// waitFor polls cond until it holds, or fails the test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hang)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
