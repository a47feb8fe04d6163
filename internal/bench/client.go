package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// conn is one keep-alive client connection of the load generator. It
// writes a request prepared once as bytes and reads the response with
// http.ReadResponse: no Transport, no per-connection goroutines and no
// header maps built for the request, so that the generator spends far less
// per request than the proxies it measures.
type conn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
	buf  []byte
}

func newConn(addr string) *conn {
	return &conn{addr: addr, buf: make([]byte, 4<<10)}
}

// result is what one exchange measured.
type result struct {
	status int
	ttfb   time.Duration // to the first byte of the body (headers for an empty one)
	total  time.Duration
	events []time.Duration // when each SSE event ended, since the request was sent
}

// do sends req and reads the whole response. A broken connection is
// redialled once, since a proxy may close an idle connection at any time.
func (c *conn) do(req []byte, sse bool) (result, error) {
	res, err := c.exchange(req, sse)
	if errors.Is(err, errRetry) {
		res, err = c.exchange(req, sse)
	}
	return res, err
}

func (c *conn) exchange(req []byte, sse bool) (result, error) {
	var res result
	fresh := false
	if c.c == nil {
		nc, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return res, err
		}
		c.c, c.br, fresh = nc, bufio.NewReaderSize(nc, 16<<10), true
	}
	start := time.Now()
	if _, err := c.c.Write(req); err != nil {
		c.close()
		if fresh {
			return res, err
		}
		return res, errRetry
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		if fresh {
			return res, err
		}
		return res, errRetry
	}
	res.status = resp.StatusCode
	res.ttfb = time.Since(start)
	first := true
	var last byte // the previous read's last byte: "\n\n" may straddle two reads
	for {
		n, rerr := resp.Body.Read(c.buf)
		now := time.Since(start)
		if n > 0 {
			if first {
				res.ttfb, first = now, false
			}
			if sse {
				ends := bytes.Count(c.buf[:n], []byte("\n\n"))
				if last == '\n' && c.buf[0] == '\n' {
					ends++
				}
				for range ends {
					res.events = append(res.events, now)
				}
				last = c.buf[n-1]
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			c.close()
			return res, fmt.Errorf("read body: %w", rerr)
		}
	}
	res.total = time.Since(start)
	resp.Body.Close()
	if resp.Close {
		c.close()
	}
	return res, nil
}

// errRetry marks a reused connection that turned out to be closed.
var errRetry = errors.New("connection closed by peer")

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// request is a prepared HTTP/1.1 request.
func request(addr, path string, header http.Header, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\n", path, addr)
	_ = header.Write(&b)
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}
