package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/downstream"
	"github.com/qcc-dev/qcc/internal/logging"
)

// listener serves one cluster's address. The socket is bound before the
// component starts, so that a port that cannot be had is an error at start
// (or a rejected reload), not a component that fails forever.
type listener struct {
	cluster string
	addr    string
	ln      net.Listener
	handler http.Handler
	drain   time.Duration
	log     zerolog.Logger
	stop    func() // set once the supervisor runs it
}

func bind(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

// firstRequestGrace bounds how long a stopping listener waits for
// connections it accepted to send their first request.
const firstRequestGrace = 2 * time.Second

// run serves until ctx ends, then drains: the socket stops accepting at
// once, in-flight requests and streams get the drain timeout to finish, and
// whatever is left is cut off.
func (l *listener) run(ctx context.Context) error {
	if l.ln == nil {
		// Restarted after a failure: Serve closed the old socket.
		ln, err := bind(l.addr)
		if err != nil {
			return err
		}
		l.ln = ln
	}
	var fresh freshConns
	// downstream, not net/http's Server: an idle stream holds no buffers
	// and one goroutine fewer there (docs/performance.md), and a thousand
	// idle streams is a normal day for a team's qccd.
	srv := downstream.New(downstream.Options{
		Handler:           l.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No write deadline: a stream may rightly last many minutes.
		ErrorLog:  logging.HTTPErrorLog(l.log, "http"),
		ConnState: fresh.track,
	})
	served := make(chan error, 1)
	ln := l.ln
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		l.ln = nil
		return fmt.Errorf("cluster %s: serve %s: %w", l.cluster, l.addr, err)
	case <-ctx.Done():
	}
	l.log.Info().Str("cluster", l.cluster).Str("listen", l.addr).Msg("listener draining")
	// Stop accepting first, let the connections already accepted get their
	// request in, and only then shut down, which waits for every request in
	// flight. (net/http's Shutdown closed, unanswered, a connection whose
	// first request it read after shutdown began; downstream answers it,
	// but a client that connected just before the socket closed deserves
	// its answer either way.)
	ln.Close()
	<-served
	fresh.wait(firstRequestGrace)

	drainCtx, cancel := context.WithTimeout(context.Background(), l.drain)
	defer cancel()
	err := srv.Shutdown(drainCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		l.log.Warn().Str("cluster", l.cluster).Dur("drain_timeout", l.drain).Msg("drain timeout reached, closing remaining connections")
		err = srv.Close()
	}
	l.ln = nil
	return err
}

// freshConns tracks the connections that have not sent a request yet.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (f *freshConns) track(c net.Conn, s http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s == http.StateNew {
		if f.conns == nil {
			f.conns = map[net.Conn]struct{}{}
		}
		f.conns[c] = struct{}{}
		return
	}
	delete(f.conns, c)
}

// wait returns once no connection is fresh, or after grace.
func (f *freshConns) wait(grace time.Duration) {
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		n := len(f.conns)
		f.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
