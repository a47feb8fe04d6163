package bench

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

// upstreamServer is the upstream every target ends at, served from the
// harness's own process on loopback.
type upstreamServer struct {
	addr string
	srv  *http.Server
	done chan struct{}
}

// serveUpstream serves the bench upstream, or the fake Anthropic API.
func serveUpstream(fake bool) (*upstreamServer, error) {
	var h http.Handler = Upstream{}
	if fake {
		// No event delay: the fake makes a non-streaming reply take as
		// long as its stream would, and only non-streaming loads run on it.
		h = fakeupstream.New(fakeupstream.Options{MaxRecorded: -1})
	}
	return serveHandler(h)
}

// serveHandler serves h on a free loopback port.
func serveHandler(h http.Handler) (*upstreamServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstreamServer{
		addr: ln.Addr().String(),
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(u.done)
		_ = u.srv.Serve(ln)
	}()
	return u, nil
}

// stop closes the upstream and waits for its accept loop to end.
func (u *upstreamServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if u.srv.Shutdown(ctx) != nil {
		_ = u.srv.Close()
	}
	<-u.done
}
