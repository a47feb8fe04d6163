// Command qcc is the command-line client of qccd.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/qcc-dev/qcc/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
