package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

func main() {
	grpcAddr := flag.String("grpc-addr", ":53100", "address of the RootCoord gRPC service")
	metricsAddr := flag.String("metrics-addr", httpserver.DefaultAddr, "address of the /metrics endpoint")
	duration := flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	flag.Parse()
	if err := start(*grpcAddr, *metricsAddr, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "wiring:", err)
		os.Exit(1)
	}
}

// start runs the server until SIGINT or SIGTERM, or for d if d > 0.
func start(grpcAddr, metricsAddr string, d time.Duration) error {
	// JSON to stderr, unbuffered (nothing to Sync); stack traces only where
	// we log them.
	logger, err := zap.NewProduction(zap.AddStacktrace(zapcore.FatalLevel))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	return run(ctx, grpcAddr, metricsAddr, logger)
}

// run serves a RootCoord, counted by grpcmetrics, on grpcAddr and its
// metrics on metricsAddr until ctx ends. It logs "serving" with both bound
// addresses once it is ready.
func run(ctx context.Context, grpcAddr, metricsAddr string, logger *zap.Logger) error {
	// The RootCoord counters, on a registry of our own.
	reg := prometheus.NewRegistry()
	m := registry.New()
	if err := m.RootCoord.Register(reg); err != nil {
		return err
	}

	// The Milvus table, cut down to the one service this server has, so
	// that Check below can demand a complete match.
	routes, err := methodmap.MilvusRoutes(m, methodmap.Services{})
	if err != nil {
		return err
	}
	routes = slices.DeleteFunc(routes, func(r methodmap.Route) bool {
		return !strings.HasPrefix(r.Method, "/"+methodmap.DefaultRootCoord+"/")
	})
	methods, err := methodmap.New(routes...)
	if err != nil {
		return err
	}

	// One hook per concern; both helpers read our generated types without
	// reflection. Without them the default rules give the same counts.
	ic, err := interceptor.NewMilvusCounters(methods,
		interceptor.WithClientID(interceptor.MilvusSourceID[*commonpb.MsgBase]()))
	if err != nil {
		return err
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic},
		interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()),
		interceptor.WithLogger(logger),
	)
	if err != nil {
		return err
	}
	if err := install.Register(reg); err != nil { // grpcmetrics_client_id_overflow_total, grpcmetrics_client_ids
		return err
	}

	// Outside: the install counts a handler's panic as fail, then recovery
	// turns it into an error that tells the client nothing.
	recover := grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(
		func(ctx context.Context, p any) error {
			logger.Error("handler panic", zap.Any("panic", p), zap.Stack("stack"))
			return status.Error(codes.Internal, "internal error")
		})))
	srv := grpc.NewServer(append([]grpc.ServerOption{recover}, install.ServerOptions()...)...)
	rootcoord.New().Register(srv)
	if err := install.Init(srv); err != nil { // after registering the services, before serving
		return err
	}

	// Every unary method of the server counted, every mapped method served.
	if cov := methods.Check(srv); !cov.OK() {
		return fmt.Errorf("method map and server disagree:\n%s", cov)
	}

	hs, err := httpserver.New(reg, httpserver.Options{Addr: metricsAddr, Logger: logger})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		return err
	}
	if err := hs.Start(); err != nil {
		return errors.Join(err, lis.Close())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	logger.Info("serving", zap.Stringer("grpc", lis.Addr()), zap.String("metrics", hs.Addr()))

	var serveErr error
	select {
	case <-ctx.Done():
		stopped := make(chan struct{})
		go func() { srv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			srv.Stop() // calls still running after 5s are cut
		}
		// ErrServerStopped: ctx ended before Serve began; nothing failed.
		if err := <-served; !errors.Is(err, grpc.ErrServerStopped) {
			serveErr = err
		}
	case serveErr = <-served:
		srv.Stop()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(serveErr, hs.Shutdown(sctx))
}
