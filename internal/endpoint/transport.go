package endpoint

import (
	"net/http"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/upstream"
)

// NewTransport builds the connection pool for one endpoint. Each endpoint
// has its own, so one upstream's failures never close another's connections
// and the pool's limits apply per upstream.
//
// It is package upstream's HTTP/1.1 transport rather than net/http's: the
// request's goroutine writes the request and reads the response itself, so
// a request makes no hand-offs to a connection's read and write loops, and
// an open stream holds no goroutines of its own (docs/performance.md). An
// endpoint reached through HTTPS_PROXY or HTTP_PROXY goes through
// net/http's Transport, which knows how to use a proxy.
func NewTransport(cfg config.Endpoint) *upstream.Transport {
	return upstream.New(upstream.Options{
		DialTimeout:           cfg.DialTimeout,
		KeepAlive:             30 * time.Second,
		TLSHandshakeTimeout:   cfg.TLSHandshakeTimeout,
		ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
		IdleTimeout:           90 * time.Second,
		MaxIdle:               256,
		// Room for the API's response headers (~1.2 KB with its rate-limit
		// headers) in one read; an SSE event is ~100 bytes. A larger buffer
		// would only add memory to every connection a long stream holds
		// open.
		ReadBufferSize: 2 << 10,
		Proxy:          http.ProxyFromEnvironment,
	})
}
