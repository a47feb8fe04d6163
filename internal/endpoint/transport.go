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
		// Streams are read as they come; a big read buffer only adds memory
		// per connection.
		ReadBufferSize:  16 << 10,
		WriteBufferSize: 16 << 10,
	}
}
