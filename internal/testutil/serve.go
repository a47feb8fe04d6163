package testutil

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/downstream"
)

// Server is h served on a loopback port by the server qccd's listeners use
// (package downstream), so that tests of the data path run it as production
// does, rather than net/http's as httptest would.
type Server struct {
	URL  string // http://127.0.0.1:PORT
	Addr string // 127.0.0.1:PORT

	srv    *downstream.Server
	served chan struct{}
	once   sync.Once
}

// Serve starts h and stops it when the test ends.
func Serve(t testing.TB, h http.Handler) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		URL:    "http://" + ln.Addr().String(),
		Addr:   ln.Addr().String(),
		srv:    downstream.New(downstream.Options{Handler: h}),
		served: make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	t.Cleanup(s.Close)
	return s
}

// Close stops accepting and returns once every handler has returned; a
// request still running after a few seconds has its connection closed.
func (s *Server) Close() {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if s.srv.Shutdown(ctx) != nil {
			_ = s.srv.Close()
		}
		<-s.served
	})
}
