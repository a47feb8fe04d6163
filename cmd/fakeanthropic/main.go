// Command fakeanthropic serves the project's fake Anthropic API on loopback,
// for demos and load runs: point a qccd endpoint's base_url at it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakeanthropic:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:7861", "address to listen on")
	events := flag.Int("events", 10, "content_block_delta events per streamed reply")
	delay := flag.Duration("delay", 0, "pause between two events of a stream")
	apiKey := flag.String("api-key", "", "key that requests must carry (x-api-key or bearer); empty accepts any")
	faultStatus := flag.Int("fault-status", 0, "answer every request with this status and an Anthropic error body")
	flag.Parse()

	fake := fakeupstream.New(fakeupstream.Options{Events: *events, EventDelay: *delay, APIKey: *apiKey})
	if *faultStatus != 0 {
		fake.SetFault(fakeupstream.Fault{Status: *faultStatus})
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Printf("fakeanthropic listening on %s\n", ln.Addr())

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Streams still running after the grace period are cut.
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
