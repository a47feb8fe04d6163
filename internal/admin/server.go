package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/logging"
)

// shutdownGrace is how long a stopping admin server lets requests finish,
// a probe or a reload among them, before it cuts them off.
const shutdownGrace = 5 * time.Second

// ServerOptions says where the admin API listens.
type ServerOptions struct {
	// Socket is the unix socket path, [daemon] admin_socket; empty for none.
	Socket string
	// Listen is the TCP address, [daemon] admin_listen; empty for none.
	Listen string
	// Token, when set, must come with every TCP request as a Bearer token.
	Token config.Secret
	Log   zerolog.Logger
}

// Server serves one handler on the admin socket and the TCP admin
// listener: a component for the supervisor to run.
type Server struct {
	opts ServerOptions
	unix http.Handler // the socket's: its file mode is its guard
	tcp  http.Handler

	mu      sync.Mutex
	unixLn  net.Listener
	tcpLn   net.Listener
	tcpAddr string
}

// NewServer returns a server for h.
func NewServer(h http.Handler, opts ServerOptions) *Server {
	return &Server{opts: opts, unix: h, tcp: tcpGuard(h, opts.Token)}
}

// Listen binds the socket and the TCP address. The daemon calls it before
// it says READY, so that qcc works as soon as systemd says qccd started;
// Run binds whatever Listen has not.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unixLn == nil && s.opts.Socket != "" {
		ln, err := listenUnix(s.opts.Socket)
		if err != nil {
			return err
		}
		s.unixLn = ln
	}
	if s.tcpLn == nil && s.opts.Listen != "" {
		ln, err := net.Listen("tcp", s.opts.Listen)
		if err != nil {
			return fmt.Errorf("admin listener: %w", err)
		}
		s.tcpLn, s.tcpAddr = ln, ln.Addr().String()
	}
	return nil
}

// TCPAddr returns the TCP address the server is bound to, once Listen
// succeeded; "" without admin_listen.
func (s *Server) TCPAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tcpAddr
}

// Run serves until ctx ends, then gives requests shutdownGrace to finish.
// It returns an error when a listener cannot be bound or fails; the
// supervisor runs it again after a pause.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	var servers []*http.Server
	served := make(chan error, 2)
	serve := func(ln net.Listener, h http.Handler) {
		srv := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       time.Minute,
			BaseContext:       func(net.Listener) context.Context { return ctx },
			ErrorLog:          logging.HTTPErrorLog(s.opts.Log, "admin"),
		}
		servers = append(servers, srv)
		go func() { served <- srv.Serve(ln) }()
	}
	if s.unixLn != nil {
		serve(s.unixLn, s.unix)
	}
	if s.tcpLn != nil {
		serve(s.tcpLn, s.tcp)
	}
	// Serve closes the listeners when it returns: the next Run binds anew.
	s.unixLn, s.tcpLn = nil, nil
	s.mu.Unlock()

	var err error
	select {
	case err = <-served:
		err = fmt.Errorf("admin API: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	for _, srv := range servers {
		if serr := srv.Shutdown(shutdownCtx); errors.Is(serr, context.DeadlineExceeded) {
			srv.Close()
		}
	}
	// Wait for the Serve calls that have not returned yet.
	pending := len(servers)
	if err != nil {
		pending--
	}
	for range pending {
		<-served
	}
	return err
}
