package bench

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	grpcprometheus "github.com/grpc-ecosystem/go-grpc-prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

var (
	sinkResp any
	sinkErr  error
)

var (
	benchReq = &milvuspb.DescribeCollectionRequest{
		Base:           &commonpb.MsgBase{MsgType: commonpb.MsgType_DescribeCollection, SourceID: 1},
		CollectionName: "c",
	}
	okResp   = &milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{}, CollectionName: "c"}
	failResp = &milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{
		ErrorCode: commonpb.ErrorCode_CollectionNotExists, Reason: "collection not found",
	}}
	errHandler = errors.New("handler failed")
)

// runInterceptor calls icpt directly b.N times. One call before the timer
// starts resolves the route's series and the rules' caches; it must pass the
// handler's response and error through unchanged.
func runInterceptor(b *testing.B, icpt grpc.UnaryServerInterceptor, method string, h grpc.UnaryHandler) {
	ctx := context.Background()
	info := &grpc.UnaryServerInfo{FullMethod: method}
	wantResp, wantErr := h(ctx, benchReq)
	resp, err := icpt(ctx, benchReq, info, h)
	require.Equal(b, wantResp, resp, "the warm-up call returns the handler's response")
	require.Equal(b, wantErr, err, "the warm-up call returns the handler's error")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		sinkResp, sinkErr = icpt(ctx, benchReq, info, h)
	}
}

// BenchmarkDirect calls each interceptor as a function with a no-op handler
// that returns a prebuilt response. The three targets compare
// provider-counters (go-grpc-middleware's provider with its default
// counters) with grpcmetrics-default/success, grpcmetrics-typed/success and
// grpcmetrics-default/proxy-success.
func BenchmarkDirect(b *testing.B) {
	ctx := context.Background()

	b.Run("handler-only", func(b *testing.B) {
		h := returns(okResp, nil)
		b.ReportAllocs()
		for b.Loop() {
			sinkResp, sinkErr = h(ctx, benchReq)
		}
	})

	// floor: the least any counting interceptor can do: find the method's
	// counters in a map and increment two pre-resolved counters.
	b.Run("floor", func(b *testing.B) {
		m := registry.New()
		type pair struct{ total, success prometheus.Counter }
		routes := map[string]*pair{rcMethod: {
			total:   m.RootCoord.DescribeCollectionCounter.WithLabelValues("client_1", registry.TotalLabel),
			success: m.RootCoord.DescribeCollectionCounter.WithLabelValues("client_1", registry.SuccessLabel),
		}}
		icpt := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			p, ok := routes[info.FullMethod]
			if !ok {
				return h(ctx, req)
			}
			p.total.Inc()
			resp, err := h(ctx, req)
			p.success.Inc()
			return resp, err
		}
		runInterceptor(b, icpt, rcMethod, returns(okResp, nil))
	})

	// incs-only: the handler plus Inc on two pre-resolved counters, with no
	// lookup at all: the part of floor that every counted call pays, since
	// total and then success or fail are two atomic increments.
	b.Run("incs-only", func(b *testing.B) {
		m := registry.New()
		total := m.RootCoord.DescribeCollectionCounter.WithLabelValues("client_1", registry.TotalLabel)
		success := m.RootCoord.DescribeCollectionCounter.WithLabelValues("client_1", registry.SuccessLabel)
		h := returns(okResp, nil)
		icpt := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			total.Inc()
			resp, err := h(ctx, req)
			success.Inc()
			return resp, err
		}
		runInterceptor(b, icpt, rcMethod, h)
	})

	// seed-by-hand: what the seed's handlers did, two WithLabelValues(...).Inc()
	// calls per request (with a constant client label, so a lower bound).
	b.Run("seed-by-hand", func(b *testing.B) {
		m := registry.New()
		vec := m.RootCoord.DescribeCollectionCounter
		h := returns(okResp, nil)
		b.ReportAllocs()
		for b.Loop() {
			vec.WithLabelValues("client_1", registry.TotalLabel).Inc()
			sinkResp, sinkErr = h(ctx, benchReq)
			vec.WithLabelValues("client_1", registry.SuccessLabel).Inc()
		}
	})

	// The grpcmetrics cases. want is the call label value each call must
	// add to (besides "total"); "" for the unmapped method, which counts
	// nothing. After the loop each case checks that every call, warm-up
	// included, was counted there.
	cases := []struct {
		name   string
		method string
		h      grpc.UnaryHandler
		want   string
	}{
		{"success", rcMethod, returns(okResp, nil), registry.SuccessLabel},
		{"fail-status", rcMethod, returns(failResp, nil), registry.FailLabel},
		{"fail-error", rcMethod, returns(nil, errHandler), registry.FailLabel},
		{"unmapped", unmappedMethod, returns(okResp, nil), ""},
		{"proxy-success", proxyMethod, returns(okResp, nil), registry.SuccessLabel},
	}
	for _, md := range modes {
		for _, c := range cases {
			b.Run("grpcmetrics-"+md.name+"/"+c.name, func(b *testing.B) {
				m, ic := newGRPCMetrics(b, md.opts...)
				runInterceptor(b, ic.UnaryServerInterceptor(), c.method, c.h)
				if c.want != "" {
					checkCounted(b, m, c.method, c.want, b.N+1)
				}
			})
		}
	}

	// reference: issue 8's plain yard stick (see reference_test.go), on
	// the two success paths of the targets.
	for _, c := range cases {
		if c.name != "success" && c.name != "proxy-success" {
			continue
		}
		b.Run("reference/"+c.name, func(b *testing.B) {
			m, ref := newReference(b)
			runInterceptor(b, ref.intercept, c.method, c.h)
			checkCounted(b, m, c.method, c.want, b.N+1)
		})
	}

	b.Run("provider-counters", func(b *testing.B) {
		sm := grpcprom.NewServerMetrics()
		prometheus.NewRegistry().MustRegister(sm)
		runInterceptor(b, sm.UnaryServerInterceptor(), rcMethod, returns(okResp, nil))
	})
	b.Run("provider-histogram", func(b *testing.B) {
		sm := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
		prometheus.NewRegistry().MustRegister(sm)
		runInterceptor(b, sm.UnaryServerInterceptor(), rcMethod, returns(okResp, nil))
	})
	b.Run("go-grpc-prometheus", func(b *testing.B) {
		sm := grpcprometheus.NewServerMetrics()
		prometheus.NewRegistry().MustRegister(sm)
		runInterceptor(b, sm.UnaryServerInterceptor(), rcMethod, returns(okResp, nil))
	})
}

// runParallel calls icpt from GOMAXPROCS goroutines.
// With clientPerGoroutine, each goroutine sends its own SourceID, so the
// goroutines count into different series.
func runParallel(b *testing.B, icpt grpc.UnaryServerInterceptor, clientPerGoroutine bool) {
	ctx := context.Background()
	info := &grpc.UnaryServerInfo{FullMethod: rcMethod}
	h := returns(okResp, nil)
	_, err := icpt(ctx, benchReq, info, h) // warm-up
	require.NoError(b, err)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := benchReq
		if clientPerGoroutine {
			req = &milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: 100 + next.Add(1)}}
			if _, err := icpt(ctx, req, info, h); !assert.NoError(b, err) { // resolve this client's series
				return
			}
		}
		// A goroutine may get no iteration at all; resp stays okResp then.
		var resp any = okResp
		var err error
		for pb.Next() {
			resp, err = icpt(ctx, req, info, h)
		}
		assert.Equal(b, okResp, resp, "the last call returns the handler's response")
		assert.NoError(b, err, "the last call")
	})
}

// BenchmarkParallel is BenchmarkDirect's success path from GOMAXPROCS
// goroutines, all on one method. All but one case also share one client, the
// most contended case: every call increments the same two counters.
// grpcmetrics-default/success-client-per-goroutine gives each goroutine its own
// SourceID, so its calls count into series of their own, as calls of
// different Milvus nodes do (the provider's series have no client label, so
// its calls of one method always share them).
func BenchmarkParallel(b *testing.B) {
	b.Run("handler-only", func(b *testing.B) {
		runParallel(b, func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(ctx, req)
		}, false)
	})
	b.Run("grpcmetrics-default/success", func(b *testing.B) {
		_, ic := newGRPCMetrics(b)
		runParallel(b, ic.UnaryServerInterceptor(), false)
	})
	b.Run("grpcmetrics-default/success-client-per-goroutine", func(b *testing.B) {
		_, ic := newGRPCMetrics(b)
		runParallel(b, ic.UnaryServerInterceptor(), true)
	})
	b.Run("provider-counters", func(b *testing.B) {
		sm := grpcprom.NewServerMetrics()
		prometheus.NewRegistry().MustRegister(sm)
		runParallel(b, sm.UnaryServerInterceptor(), false)
	})
}

// BenchmarkE2E makes one unary DescribeCollection call per op to the example
// RootCoord over bufconn (client and server both in process). The collection
// does not exist, so every call returns a failing Milvus status.
func BenchmarkE2E(b *testing.B) {
	withOpts := func(opts func(b *testing.B) []grpc.ServerOption) func(b *testing.B) *grpc.Server {
		return func(b *testing.B) *grpc.Server { return rootcoord.New().NewGRPCServer(opts(b)...) }
	}
	cases := []struct {
		name   string
		server func(b *testing.B) *grpc.Server
	}{
		{"none", withOpts(func(*testing.B) []grpc.ServerOption { return nil })},
		// noop-interceptor isolates what gRPC itself spends once any unary
		// interceptor is installed.
		{"noop-interceptor", withOpts(func(*testing.B) []grpc.ServerOption {
			return []grpc.ServerOption{grpc.ChainUnaryInterceptor(
				func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
					return h(ctx, req)
				})}
		})},
		{"grpcmetrics-default", withOpts(func(b *testing.B) []grpc.ServerOption {
			_, ic := newGRPCMetrics(b)
			return []grpc.ServerOption{grpc.ChainUnaryInterceptor(ic.UnaryServerInterceptor())}
		})},
		{"provider-counters", withOpts(func(b *testing.B) []grpc.ServerOption {
			sm := grpcprom.NewServerMetrics()
			prometheus.NewRegistry().MustRegister(sm)
			return []grpc.ServerOption{grpc.ChainUnaryInterceptor(sm.UnaryServerInterceptor())}
		})},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			lis := bufconn.Listen(1 << 20)
			srv := c.server(b)
			served := make(chan error, 1)
			go func() { served <- srv.Serve(lis) }()
			defer func() {
				srv.Stop()
				assert.NoError(b, <-served)
			}()
			conn, err := grpc.NewClient("passthrough:///bufnet",
				grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
				grpc.WithTransportCredentials(insecure.NewCredentials()))
			require.NoError(b, err)
			defer conn.Close()
			client := rootcoordpb.NewRootCoordClient(conn)
			ctx := context.Background()
			req := &milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: 1}, CollectionName: "missing"}
			for range 100 { // connect and warm up caches
				_, err := client.DescribeCollection(ctx, req)
				require.NoError(b, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_, err := client.DescribeCollection(ctx, req)
				require.NoError(b, err)
			}
		})
	}
}
