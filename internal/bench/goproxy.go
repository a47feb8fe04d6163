package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// ServeGoProxyArg, as a program's first argument, makes cmd/qccbench run
// ServeGoProxy.
const ServeGoProxyArg = "serve-goproxy"

// ServeGoProxy serves the Go floor: net/http/httputil's ReverseProxy with
// nothing added, flushing at once so that SSE streams through. It is what
// any proxy built on net/http pays, the line under qccd's row. args:
// -listen ADDR -upstream ADDR. It runs until SIGTERM.
func ServeGoProxy(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("qccbench serve-goproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "address to serve")
	upstream := fs.String("upstream", "", "upstream address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	target := &url.URL{Scheme: "http", Host: *upstream}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set("X-Api-Key", benchKey)
		},
		FlushInterval: -1,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true},
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 30 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// startGoProxy runs this program's ServeGoProxy as a child.
func startGoProxy(ctx context.Context, dir, upstream string) (*process, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := execCommand(self, ServeGoProxyArg, "-listen", addr, "-upstream", upstream)
	p, err := start(ctx, "go-floor", cmd, dir+"/goproxy.log", addr)
	return p, addr, err
}
