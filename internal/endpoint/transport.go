package endpoint

import (
	"net"
	"net/http"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
)

// NewTransport builds the connection pool for one endpoint. Each endpoint
// has its own, so one upstream's failures never close another's connections
// and the pool's limits apply per upstream.
func NewTransport(cfg config.Endpoint) *http.Transport {
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   cfg.TLSHandshakeTimeout,
		ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          0, // bounded per host below
		MaxIdleConnsPerHost:   256,
		// The client's Accept-Encoding passes through; qccd must not add its
		// own and transparently decompress, or it would change the response.
		DisableCompression: true,
		// 4 KiB each way, net/http's default, said out loud: an SSE event is
		// ~100 bytes and a request body larger than the buffer is written
		// straight through, so bigger buffers only add memory to every
		// connection a long stream holds open (measured in
		// docs/performance.md: live heap 60 -> 36 KB per idle stream).
		ReadBufferSize:  4 << 10,
		WriteBufferSize: 4 << 10,
	}
}
