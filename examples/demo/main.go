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
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.proxyAddr, "proxy-addr", "127.0.0.1:0", "gRPC listen address of the proxy (port 0: any free port)")
	flag.StringVar(&cfg.rootCoordAddr, "rootcoord-addr", "127.0.0.1:0", "gRPC listen address of the rootcoord (port 0: any free port)")
	flag.StringVar(&cfg.dataNodeAddr, "datanode-addr", "127.0.0.1:0", "gRPC listen address of the data node (port 0: any free port)")
	flag.StringVar(&cfg.metricsAddr, "metrics-addr", "127.0.0.1:9091", "listen address of the /metrics endpoint")
	flag.BoolVar(&cfg.steady, "steady", false, "keep sending a steady mix of calls until stopped")
	flag.DurationVar(&cfg.interval, "steady-interval", 50*time.Millisecond, "time between two calls of -steady")
	flag.IntVar(&cfg.clientLimit, "client-limit", interceptor.DefaultClientLimit,
		fmt.Sprintf("client_id values tracked per counter; further clients count as overflow (1 to %d)", interceptor.MaxClientLimit))
	flag.BoolVar(&cfg.verbose, "v", false, "log every call the servers answer, and the stacks of the panics the demo provokes")
	duration := flag.Duration("duration", 0, "stop after this long (0: serve until interrupted)")
	sets := flag.String("sets", defaultSets,
		"the metric sets the servers count into, separated by commas: milvus (Milvus v2.0's counters), provider (the provider's grpc_server_* and grpc_client_*), a66 (gRPC's own metrics), milvus26 (Milvus 2.6's request counters)")
	flag.Parse()
	var setsErr error
	cfg.sets, setsErr = parseSets(*sets)
	if err := errors.Join(setsErr, validate(cfg, *duration)); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// validate rejects flag values the demo cannot run with.
func validate(cfg config, duration time.Duration) error {
	var errs []error
	if duration < 0 {
		errs = append(errs, fmt.Errorf("-duration %v is negative", duration))
	}
	if cfg.clientLimit < 1 || cfg.clientLimit > interceptor.MaxClientLimit {
		errs = append(errs, fmt.Errorf("-client-limit %d is not between 1 and %d", cfg.clientLimit, interceptor.MaxClientLimit))
	}
	if cfg.interval <= 0 {
		errs = append(errs, fmt.Errorf("-steady-interval %v is not positive", cfg.interval))
	}
	return errors.Join(errs...)
}

// run starts the demo, prints where it listens, sends the one-off workload
// and prints the counters; then, until ctx is done, it keeps serving and,
// with cfg.steady, keeps sending traffic.
func run(ctx context.Context, cfg config, out io.Writer) (err error) {
	logger := newLogger(cfg)

	d, err := start(cfg, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.Close()) }()

	// The workload takes well under a second; it runs to the end even if
	// serving is cut short, so the table is always complete. The table
	// comes first, then where to look further.
	workload(context.WithoutCancel(ctx), d.proxy, d.rc)
	if err := printCounters(out, d.reg, d.sets); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nproxy      %s  (gRPC, reflection: grpcurl -plaintext %[1]s list)\n", d.proxyAddr())
	fmt.Fprintf(out, "rootcoord  %s  (gRPC, reflection: grpcurl -plaintext %[1]s list)\n", d.rootCoordAddr())
	fmt.Fprintf(out, "datanode   %s  (gRPC, reflection: grpcurl -plaintext %[1]s list)\n", d.dataNodeAddr())
	fmt.Fprintf(out, "metrics    http://%s/metrics\n", d.metricsAddr())
	if err := printSeries(out, d.reg, d.sets); err != nil {
		return err
	}
	if !cfg.steady {
		fmt.Fprintf(out, "\nServing http://%s/metrics — Ctrl-C to stop.\n", d.metricsAddr())
		<-ctx.Done()
		return nil
	}
	fmt.Fprintf(out, "\nSending a steady mix (one call every %v from %d clients) and serving http://%s/metrics — Ctrl-C to stop.\n",
		cfg.interval, steadyClients, d.metricsAddr())
	t, err := steady(ctx, d, cfg.interval, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Sent %s.\n", t.summary())
	return nil
}

// newLogger returns the demo's logger: human-readable lines on cfg.logs
// (stderr if nil), unbuffered, so there is nothing to sync. Without -v it
// shows warnings and errors only (a rule that panicked, a failed scrape),
// and start keeps the servers' per-call logs off; with -v it shows every
// call, OK ones (logged at debug) included. Stacks appear only where a
// log line carries one.
func newLogger(cfg config) *zap.Logger {
	var w io.Writer = os.Stderr
	if cfg.logs != nil {
		w = cfg.logs
	}
	level := zap.WarnLevel
	if cfg.verbose {
		level = zap.DebugLevel
	}
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core, zap.AddCaller())
}
