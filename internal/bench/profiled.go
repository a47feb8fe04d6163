package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/qcc-dev/qcc/internal/daemon"
	"github.com/qcc-dev/qcc/internal/logging"
	"github.com/qcc-dev/qcc/internal/sdnotify"
)

// ServeQccd runs qccd (daemon.Run, as cmd/qccd does) under the CPU
// profiler, in a process of its own so that the profile holds qccd alone
// and not the load generator. On SIGTERM it drains, then writes the CPU
// profile and the allocation profile. args: -config PATH -cpuprofile PATH
// -allocsprofile PATH.
func ServeQccd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("qccbench serve-qccd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "clusters.toml")
	cpuPath := fs.String("cpuprofile", "", "write the CPU profile here")
	allocsPath := fs.String("allocsprofile", "", "write the allocation profile here")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, closeLog, err := logging.New(logging.Options{Format: "json", Stderr: stderr})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer closeLog()
	cpu, err := os.Create(*cpuPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer cpu.Close()
	if err := pprof.StartCPUProfile(cpu); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	err = daemon.Run(ctx, daemon.Options{ConfigPath: *configPath, Explicit: true, Log: log, Notifier: sdnotify.New(), Reload: hup})
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(stderr, "qccd:", err)
		return 1
	}
	if *allocsPath != "" {
		f, err := os.Create(*allocsPath)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	return 0
}
