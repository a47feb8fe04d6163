package downstream

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Read-only wire fragments of chunked framing.
var (
	crlf      = []byte("\r\n")
	lastChunk = []byte("0\r\n\r\n")
)

// response is the http.ResponseWriter of one request.
//
// The head is framed when the first bytes go to the wire, which is at the
// first Flush, when the body outgrows the write buffer, or when the
// handler returns: a response that is finished by then gets a
// Content-Length, a longer one is chunked (close-delimited for HTTP/1.0).
// The handler's header map is read once, at WriteHeader, into a pooled
// head buffer, so later changes to it are ignored, as net/http ignores
// them, without copying the map.
type response struct {
	c      *conn
	req    *http.Request
	cancel context.CancelFunc
	body   reqBody
	watch  watch
	header http.Header

	status     int           // 0 until WriteHeader
	head       *[]byte       // the head from WriteHeader until it is sent
	sent       bool          // the head is on the wire
	bw         *bufio.Writer // pooled; held only between a write and the next flush
	cl         int64         // the declared Content-Length, or -1
	written    int64
	hasType    bool // the handler's map has a Content-Type entry, perhaps empty
	hasDate    bool
	chunked    bool
	closeAfter bool
	final      bool      // the next send ends the response
	err        error     // a failed write: the client is gone
	vec        [5][]byte // head, chunk size, data, CRLF, last chunk
	bufs       net.Buffers
	chunkHead  [20]byte

	// For Expect: 100-continue: mu orders the 100 Continue that the
	// body's reader may write against the head the writer may write.
	expect    bool
	mu        sync.Mutex
	continued bool
	started   bool
}

// wire is where the write buffer flushes to: the framing of a response.
type wire response

func (f *wire) Write(p []byte) (int, error) { return (*response)(f).send(p) }

func (w *response) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header)
	}
	return w.header
}

func (w *response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.status != 0 {
		if _, file, line, ok := runtime.Caller(1); ok {
			w.c.s.o.ErrorLog.Printf("http: superfluous response.WriteHeader call from %s:%d", path.Base(file), line)
		}
		return
	}
	if code < 200 {
		// Interim responses are not supported; the final one follows.
		return
	}
	w.status = code
	w.head = w.c.s.heads.Get().(*[]byte)
	b := (*w.head)[:0]
	if w.req.ProtoAtLeast(1, 1) {
		b = append(b, "HTTP/1.1 "...)
	} else {
		b = append(b, "HTTP/1.0 "...)
	}
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if text := http.StatusText(code); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	b = append(b, crlf...)
	for k, vs := range w.header {
		switch k {
		case "Content-Length":
			if len(vs) > 0 {
				if n, err := strconv.ParseInt(strings.TrimSpace(vs[0]), 10, 64); err == nil && n >= 0 {
					w.cl = n
				} else {
					w.c.s.o.ErrorLog.Printf("http: invalid Content-Length of %q", vs[0])
				}
			}
			continue
		case "Transfer-Encoding", "Trailer":
			continue // the framing is this writer's
		case "Connection":
			for _, v := range vs {
				if hasToken(v, "close") {
					w.closeAfter = true
				}
			}
			continue
		case "Content-Type":
			w.hasType = true
			if code == http.StatusNotModified {
				continue
			}
		case "Date":
			w.hasDate = true
		}
		if !validName(k) {
			continue
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendValue(b, v)
			b = append(b, crlf...)
		}
	}
	*w.head = b
}

func (w *response) Write(p []byte) (int, error) {
	if !w.writable(len(p)) {
		return 0, w.writeErr()
	}
	return w.bw.Write(p)
}

// WriteString saves io.WriteString a copy of s.
func (w *response) WriteString(s string) (int, error) {
	if !w.writable(len(s)) {
		return 0, w.writeErr()
	}
	return w.bw.WriteString(s)
}

// writable checks a write of n bytes and takes a write buffer for it.
func (w *response) writable(n int) bool {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil || !bodyAllowed(w.status) || w.cl >= 0 && w.written+int64(n) > w.cl {
		return false
	}
	w.written += int64(n)
	if w.bw == nil {
		w.bw = w.c.s.writers.Get().(*bufio.Writer)
		w.bw.Reset((*wire)(w))
	}
	return true
}

func (w *response) writeErr() error {
	switch {
	case w.err != nil:
		return w.err
	case !bodyAllowed(w.status):
		return http.ErrBodyNotAllowed
	}
	return http.ErrContentLength
}

// Flush sends what has been written, the head included, and gives the
// write buffer back: a stream waiting for its next event holds none.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush that reports a failed write, for
// http.ResponseController.
func (w *response) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.bw != nil && w.bw.Buffered() > 0 {
		_ = w.bw.Flush()
	} else if !w.sent {
		_, _ = w.send(nil)
	}
	w.releaseWriter()
	return w.err
}

// finish ends the response once the handler has returned.
func (w *response) finish() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	// Read what the handler left of the body before the head goes out,
	// so that the head can say Connection: close when that fails. A body
	// the client waits for permission to send is never read.
	if w.body.rc != nil && !w.body.eof {
		if w.expect && !w.continued {
			w.closeAfter = true
		} else if _, err := io.CopyN(io.Discard, w.body.rc, maxDiscard+1); err != io.EOF {
			w.closeAfter = true
		}
		// The client may be sending still; closing on unread input would
		// reset the connection under the response.
		w.c.lingerOnClose = w.closeAfter
	}
	w.final = true
	if w.bw != nil && w.bw.Buffered() > 0 {
		_ = w.bw.Flush()
	} else {
		_, _ = w.send(nil)
	}
	if w.cl >= 0 && w.written != w.cl && w.req.Method != http.MethodHead && bodyAllowed(w.status) {
		w.closeAfter = true // the client is owed bytes it will not get
	}
}

// keep reports whether the connection may carry another request.
func (w *response) keep() bool {
	return !w.closeAfter && w.err == nil && !w.watch.gone && !w.c.s.closing.Load()
}

// release gives back the pooled buffers, unflushed after a panic.
func (w *response) release() {
	w.releaseWriter()
	w.putHead()
}

// putHead gives back the head buffer, unless a huge header grew it.
func (w *response) putHead() {
	if w.head != nil && cap(*w.head) <= 64<<10 {
		w.c.s.heads.Put(w.head)
	}
	w.head = nil
}

func (w *response) releaseWriter() {
	if w.bw != nil {
		w.bw.Reset(nil)
		w.c.s.writers.Put(w.bw)
		w.bw = nil
	}
}

// send writes p, the head first if it is not out yet, in one writev.
func (w *response) send(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	v := w.vec[:0]
	if !w.sent {
		v = append(v, w.frame(p))
	}
	if len(p) > 0 && w.req.Method != http.MethodHead {
		if w.chunked {
			// Each chunk leaves whole, its closing CRLF included: a client
			// or an intermediary that hands on chunks, not bytes, must not
			// hold an SSE event until the next one comes.
			h := strconv.AppendInt(w.chunkHead[:0], int64(len(p)), 16)
			v = append(v, append(h, crlf...), p, crlf)
		} else {
			v = append(v, p)
		}
	}
	if w.final && w.chunked {
		v = append(v, lastChunk)
	}
	var err error
	if len(v) > 0 {
		w.bufs = v
		if bw, ok := w.c.nc.(buffersWriter); ok {
			_, err = bw.WriteBuffers(&w.bufs)
		} else {
			_, err = w.bufs.WriteTo(w.c.nc)
		}
		w.vec = [5][]byte{} // holds on to no caller's buffer
	}
	w.putHead()
	if err != nil {
		w.err = err
		w.cancel() // no one is left to answer
		return 0, err
	}
	return len(p), nil
}

// frame completes the head for a body that starts with p (all of it if the
// response is final) and returns it.
func (w *response) frame(p []byte) []byte {
	if w.expect {
		w.mu.Lock()
		w.started = true
		w.mu.Unlock()
	}
	w.sent = true
	if w.c.s.closing.Load() {
		w.closeAfter = true
	}
	b := *w.head
	if !w.hasDate {
		b = append(b, "Date: "...)
		b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
		b = append(b, crlf...)
	}
	head := w.req.Method == http.MethodHead
	switch {
	case !bodyAllowed(w.status):
	case w.cl >= 0:
	case w.final && (!head || len(p) > 0):
		w.cl = int64(len(p))
	case head:
	case w.req.ProtoAtLeast(1, 1):
		w.chunked = true
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	default:
		w.closeAfter = true // the end of the body is the end of the connection
	}
	if w.cl >= 0 && bodyAllowed(w.status) {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, w.cl, 10)
		b = append(b, crlf...)
	}
	switch {
	case w.closeAfter:
		b = append(b, "Connection: close\r\n"...)
	case !w.req.ProtoAtLeast(1, 1):
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	if !w.hasType && len(p) > 0 && bodyAllowed(w.status) {
		b = append(b, "Content-Type: "...)
		b = append(b, http.DetectContentType(p)...)
		b = append(b, crlf...)
	}
	b = append(b, crlf...)
	*w.head = b
	return b
}

// sendContinue answers Expect: 100-continue, once, unless the response
// has started.
func (w *response) sendContinue() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.continued || w.started {
		return
	}
	w.continued = true
	_, _ = io.WriteString(w.c.nc, "HTTP/1.1 100 Continue\r\n\r\n")
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// hasToken reports whether the comma-separated list v holds token.
func hasToken(v, token string) bool {
	for f := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(f), token) {
			return true
		}
	}
	return false
}

// validName reports whether k is an RFC 9110 token; net/http drops
// header fields whose name is not.
func validName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 0x80 || c <= ' ' || strings.IndexByte("\"(),/:;<=>?@[\\]{}\x7f", c) >= 0 {
			return false
		}
	}
	return true
}

// appendValue appends v trimmed, with line breaks turned into spaces, as
// net/http writes header values: a value cannot smuggle a header in.
func appendValue(b []byte, v string) []byte {
	v = strings.Trim(v, " \t")
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' {
			b = append(b, ' ')
		} else {
			b = append(b, c)
		}
	}
	return b
}

// buffersWriter is a connection that writes net.Buffers itself, with one
// system call: a *sockio.Conn.
type buffersWriter interface {
	WriteBuffers(*net.Buffers) (int64, error)
}
