// Command qccd is the qcc daemon: a reverse proxy that spreads Anthropic API
// requests over clusters of upstream endpoints. This file only wires flags,
// signals and logging to internal/daemon.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/qcc-dev/qcc/internal/buildinfo"
	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/daemon"
	"github.com/qcc-dev/qcc/internal/logging"
	"github.com/qcc-dev/qcc/internal/sdnotify"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qccd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", config.DefaultPath, "clusters.toml to load")
	check := fs.Bool("check-config", false, "check the config, print its problems and exit (non-zero when there are any)")
	version := fs.Bool("version", false, "print the version and exit")
	logLevel := fs.String("log-level", "", "debug|info|warn|error; overrides [daemon] log_level")
	logFormat := fs.String("log-format", "auto", "auto|json|console|journal; auto uses journald under systemd, console on a terminal, JSON otherwise")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qccd: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })

	switch {
	case *version:
		fmt.Fprintln(stdout, buildinfo.String("qccd"))
		return 0
	case *check:
		cfg, err := daemon.LoadConfig(*configPath, explicit)
		if !config.WriteReport(stdout, cfg, err) {
			return 1
		}
		return 0
	}

	log, closeLog, err := logging.New(logging.Options{Level: *logLevel, Format: *logFormat, Stderr: stderr})
	if err != nil {
		fmt.Fprintln(stderr, "qccd:", err)
		return 2
	}
	defer closeLog()
	// systemd counts a death by SIGPIPE as a clean exit and would not
	// restart the service; a write to a vanished client is just an error.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)

	log.Info().Str("version", buildinfo.Version()).Msg("qccd starting")
	err = daemon.Run(ctx, daemon.Options{
		ConfigPath: *configPath,
		Explicit:   explicit,
		LogLevel:   *logLevel,
		Log:        log,
		Notifier:   sdnotify.New(),
		Reload:     hup,
	})
	if err != nil {
		log.Error().Err(err).Msg("qccd failed")
		fmt.Fprintln(stderr, "qccd:", err)
		return 1
	}
	log.Info().Msg("qccd stopped")
	return 0
}
