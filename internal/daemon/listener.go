package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"

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
	srv := &http.Server{
		Handler:           l.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: a stream may rightly last many minutes.
		ErrorLog: logging.HTTPErrorLog(l.log, "http"),
	}
	served := make(chan error, 1)
	ln := l.ln
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		l.ln = nil
		return fmt.Errorf("cluster %s: serve %s: %w", l.cluster, l.addr, err)
	case <-ctx.Done():
	}
	drainCtx, cancel := context.WithTimeout(context.Background(), l.drain)
	defer cancel()
	l.log.Info().Str("cluster", l.cluster).Str("listen", l.addr).Msg("listener draining")
	err := srv.Shutdown(drainCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		l.log.Warn().Str("cluster", l.cluster).Dur("drain_timeout", l.drain).Msg("drain timeout reached, closing remaining connections")
		err = srv.Close()
	}
	<-served
	l.ln = nil
	return err
}
