package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

func main() {
	metricsAddr := flag.String("metrics-addr", "127.0.0.1:9091", "address of the /metrics endpoint")
	duration := flag.Duration("duration", 0, "stop after this long (0: serve until interrupted)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if err := run(ctx, *metricsAddr, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, metricsAddr string, out io.Writer) error {
	logger, err := zap.NewDevelopment()
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }() //nolint:errcheck // stderr sync fails on some terminals; nothing to do

	reg := prometheus.NewRegistry()
	m := registry.New()
	if err := m.Register(reg); err != nil {
		return err
	}
	methods, err := methodmap.Default(m)
	if err != nil {
		return err
	}
	ic, err := interceptor.New(methods,
		interceptor.WithLogger(logger),
		interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()),
		interceptor.WithClientID(interceptor.MilvusSourceID[*commonpb.MsgBase]()),
	)
	if err != nil {
		return err
	}
	if err := ic.Register(reg); err != nil {
		return err
	}
	chain := grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(), ic.UnaryServerInterceptor())

	proxyConn, stopProxy, err := serve(proxy.New().NewGRPCServer(chain))
	if err != nil {
		return err
	}
	defer stopProxy()
	rcConn, stopRC, err := serve(rootcoord.New().NewGRPCServer(chain))
	if err != nil {
		return err
	}
	defer stopRC()

	hs, err := httpserver.New(reg, httpserver.Options{Addr: metricsAddr, Logger: logger})
	if err != nil {
		return err
	}
	if err := hs.Start(); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			logger.Error("shutting down /metrics", zap.Error(err))
		}
	}()

	// The workload takes well under a second; it runs to the end even if
	// serving is cut short, so the table is always complete.
	workload(context.WithoutCancel(ctx), milvuspb.NewMilvusServiceClient(proxyConn), rootcoordpb.NewRootCoordClient(rcConn))
	if err := printCounters(out, reg); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nServing http://%s/metrics — Ctrl-C to stop.\n", hs.Addr())
	<-ctx.Done()
	return nil
}

// serve starts srv on a loopback port and returns a client connection to it.
func serve(srv *grpc.Server) (*grpc.ClientConn, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		return nil, nil, err
	}
	return conn, func() {
		if err := conn.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "demo: closing client:", err)
		}
		srv.GracefulStop()
		<-done
	}, nil
}

// workload sends each client's share of a realistic mix: successes, failures
// reported through the Milvus status, failures as gRPC errors, and a few
// injected faults (including a handler panic that recovery turns into an
// error). Call errors are expected and not printed.
func workload(ctx context.Context, mc milvuspb.MilvusServiceClient, rc rootcoordpb.RootCoordClient) {
	for _, source := range []int64{1, 2} {
		base := &commonpb.MsgBase{SourceID: source}
		name := fmt.Sprintf("books_%d", source)
		calls := []func(context.Context) error{
			func(ctx context.Context) error { // success
				_, err := mc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: name})
				return err
			},
			func(ctx context.Context) error { // fail: already exists (status)
				_, err := mc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: name})
				return err
			},
			func(ctx context.Context) error { // fail: empty name (gRPC error)
				_, err := mc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base})
				return err
			},
			func(ctx context.Context) error { // success
				_, err := mc.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: base, CollectionName: name})
				return err
			},
			func(ctx context.Context) error { // fail: missing collection (status)
				_, err := mc.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{Base: base, CollectionName: "missing"})
				return err
			},
			func(ctx context.Context) error { // success, then fail through a panic
				if _, err := mc.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{Base: base, CollectionName: name}); err != nil {
					return err
				}
				_, err := mc.DescribeCollection(fault.AppendToOutgoingContext(ctx, fault.Panic), &milvuspb.DescribeCollectionRequest{Base: base, CollectionName: name})
				return err
			},
			func(ctx context.Context) error { // success
				_, err := rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: name})
				return err
			},
			func(ctx context.Context) error { // fail: already exists (status)
				_, err := rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: name})
				return err
			},
			func(ctx context.Context) error { // fail: non-zero code in the status
				_, err := rc.CreateCollection(fault.AppendToOutgoingContext(ctx, fault.Code), &milvuspb.CreateCollectionRequest{Base: base, CollectionName: name + "_x"})
				return err
			},
			func(ctx context.Context) error { // success, then fail: missing (status)
				if _, err := rc.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: base, CollectionName: name}); err != nil {
					return err
				}
				_, err := rc.DropCollection(ctx, &milvuspb.DropCollectionRequest{Base: base, CollectionName: "missing"})
				return err
			},
			func(ctx context.Context) error { // fail: gRPC error
				_, err := rc.ShowCollections(fault.AppendToOutgoingContext(ctx, fault.Error), &milvuspb.ShowCollectionsRequest{Base: base})
				return err
			},
		}
		for _, call := range calls {
			if ctx.Err() != nil {
				return
			}
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_ = call(cctx) //nolint:errcheck // failures are part of the mix; the counters show them
			cancel()
		}
	}
}

// printCounters prints every milvus_* counter series with a non-zero total,
// one row per metric and label set, with its total, success and fail.
func printCounters(out io.Writer, g prometheus.Gatherer) error {
	mfs, err := g.Gather()
	if err != nil {
		return err
	}
	type row struct{ total, success, fail float64 }
	rows := map[string]*row{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "milvus_") || mf.GetMetric() == nil || mf.GetMetric()[0].GetCounter() == nil {
			continue
		}
		for _, mt := range mf.GetMetric() {
			var call string
			var others []string
			for _, lp := range mt.GetLabel() {
				switch lp.GetName() {
				case registry.LabelStatus, registry.LabelType:
					call = lp.GetValue()
				default:
					others = append(others, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
				}
			}
			key := mf.GetName()
			if len(others) > 0 {
				key += "{" + strings.Join(others, ",") + "}"
			}
			r := rows[key]
			if r == nil {
				r = &row{}
				rows[key] = r
			}
			v := mt.GetCounter().GetValue()
			switch call {
			case registry.TotalLabel:
				r.total = v
			case registry.SuccessLabel:
				r.success = v
			case registry.FailLabel:
				r.fail = v
			}
		}
	}
	keys := make([]string, 0, len(rows))
	for k, r := range rows {
		if r.total > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return errors.New("no counter moved")
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\ttotal\tsuccess\tfail\t")
	for _, k := range keys {
		r := rows[k]
		fmt.Fprintf(tw, "%s\t%g\t%g\t%g\t\n", k, r.total, r.success, r.fail)
	}
	return tw.Flush()
}
