// Command qccbench measures qccd against nginx and the upstream itself on
// loopback (see docs/performance.md), and soaks qccd under load and
// reloads. It starts and stops everything it measures.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/qcc-dev/qcc/internal/bench"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case bench.ServeQccdArg:
			return bench.ServeQccd(args[1:], stderr)
		case bench.ServeGoProxyArg:
			return bench.ServeGoProxy(args[1:], stderr)
		}
	}
	fs := flag.NewFlagSet("qccbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.Config
	fs.StringVar(&cfg.Qccd, "qccd", "bin/qccd", "the qccd binary to measure")
	fs.StringVar(&cfg.Nginx, "nginx", "/usr/sbin/nginx", "the nginx binary to compare with; empty to skip")
	fs.Func("also", "NAME=PATH: another qccd binary to measure in the same run, e.g. a build from before a change (repeatable)", func(v string) error {
		name, path, ok := strings.Cut(v, "=")
		if !ok || name == "" || path == "" || name == "qccd" {
			return fmt.Errorf("want NAME=PATH with a NAME other than qccd")
		}
		cfg.Others = append(cfg.Others, bench.Binary{Name: name, Path: path})
		return nil
	})
	fs.BoolVar(&cfg.GoFloor, "go-floor", true, "add a row for net/http/httputil's bare ReverseProxy: what any proxy on net/http pays")
	fs.IntVar(&cfg.Rounds, "rounds", 5, "rounds of every load, interleaved across targets")
	fs.IntVar(&cfg.LatencyRequests, "latency-requests", 2000, "sequential requests per target per round")
	fs.DurationVar(&cfg.ThroughputTime, "throughput-time", 2*time.Second, "concurrency-64 run per target per round")
	fs.IntVar(&cfg.Streams, "streams", 96, "streams per target per round, 16 at a time")
	fs.IntVar(&cfg.SlowStreams, "slow-streams", 1000, "concurrent slow streams for the memory row; -1 skips")
	fs.BoolVar(&cfg.RequestLog, "request-log", true, "keep qccd's request log (level info) and nginx's access log, both to files")
	fs.BoolVar(&cfg.Fake, "fake", false, "serve internal/fakeupstream instead of the minimal bench upstream (non-streaming loads only)")
	fs.StringVar(&cfg.ProfileDir, "profile", "", "run qccd under pprof and write cpu.pprof and allocs.pprof into this directory")
	fs.StringVar(&cfg.WorkDir, "workdir", "", "keep the generated configs and the proxies' logs in this directory")
	soak := fs.Duration("soak", 0, "instead of the benchmark, soak qccd for this long under mixed load and reloads")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	cfg.Out = stdout

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	if *soak > 0 {
		err = bench.Soak(ctx, bench.SoakConfig{Qccd: cfg.Qccd, Duration: *soak, Out: stdout})
	} else {
		err = bench.Run(ctx, cfg)
	}
	if err != nil {
		fmt.Fprintln(stderr, "qccbench:", err)
		return 1
	}
	return 0
}
