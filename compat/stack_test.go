package compat

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// buckets are the classic histogram buckets of both sides, server and
// client, in both libraries.
var buckets = []float64{0.001, 0.01, 0.1, 1, 10}

// metricsUnderTest is one library's server and client interceptors.
type metricsUnderTest struct {
	unaryServer  grpc.UnaryServerInterceptor
	streamServer grpc.StreamServerInterceptor
	unaryClient  grpc.UnaryClientInterceptor
	streamClient grpc.StreamClientInterceptor
	// init runs once the services are registered, before serving.
	init func(*grpc.Server) error
}

// grpcmetricsUnderTest builds grpcmetrics' generic mode, histograms on,
// registered on reg.
func grpcmetricsUnderTest(t *testing.T, reg prometheus.Registerer, serverOpts ...interceptor.ServerMetricsOption) metricsUnderTest {
	t.Helper()
	h := interceptor.WithHistogram(interceptor.Histogram{Buckets: buckets})
	sm, err := interceptor.NewServerMetrics(serverOpts...)
	require.NoError(t, err)
	cm, err := interceptor.NewClientMetrics()
	require.NoError(t, err)
	server, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm}, h)
	require.NoError(t, err)
	client, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm}, h)
	require.NoError(t, err)
	require.NoError(t, server.Register(reg))
	require.NoError(t, client.Register(reg))
	return metricsUnderTest{
		unaryServer:  server.UnaryServerInterceptor(),
		streamServer: server.StreamServerInterceptor(),
		unaryClient:  client.UnaryClientInterceptor(),
		streamClient: client.StreamClientInterceptor(),
		init:         func(s *grpc.Server) error { return server.Init(s) },
	}
}

// providerUnderTest builds go-grpc-middleware's provider, histograms on
// with the same buckets, registered on reg. initialize calls its
// InitializeMetrics, the counterpart of WithInitialSeries.
func providerUnderTest(t *testing.T, reg prometheus.Registerer, initialize bool) metricsUnderTest {
	t.Helper()
	sm := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(buckets)))
	cm := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram(grpcprom.WithHistogramBuckets(buckets)))
	require.NoError(t, reg.Register(sm))
	require.NoError(t, reg.Register(cm))
	return metricsUnderTest{
		unaryServer:  sm.UnaryServerInterceptor(),
		streamServer: sm.StreamServerInterceptor(),
		unaryClient:  cm.UnaryClientInterceptor(),
		streamClient: cm.StreamClientInterceptor(),
		init: func(s *grpc.Server) error {
			if initialize {
				sm.InitializeMetrics(s)
			}
			return nil
		},
	}
}

// stack is one library's bufconn server and client.
type stack struct {
	test   testpb.TestServiceClient
	milvus milvuspb.MilvusServiceClient
	calls  *callTracker
}

// callTracker counts the server's calls from outside every other
// interceptor, so a test can wait until the server has finished (and
// counted) every call, including those whose client gave up first.
type callTracker struct{ started, finished atomic.Int64 }

func (c *callTracker) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	c.started.Add(1)
	defer c.finished.Add(1)
	return h(ctx, req)
}

func (c *callTracker) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	c.started.Add(1)
	defer c.finished.Add(1)
	return h(srv, ss)
}

// waitServer waits until the server has started and finished n calls.
func (s *stack) waitServer(t *testing.T, n int64) {
	t.Helper()
	require.Eventually(t, func() bool {
		return s.calls.started.Load() == n && s.calls.finished.Load() == n
	}, 5*time.Second, time.Millisecond, "the server did not finish %d calls", n)
}

// startStack serves the test services through m, with go-grpc-middleware's
// recovery outside the metrics interceptors, and dials them through m's
// client interceptors.
func startStack(t *testing.T, m metricsUnderTest) *stack {
	t.Helper()
	calls := &callTracker{}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(calls.unary, recovery.UnaryServerInterceptor(), m.unaryServer),
		grpc.ChainStreamInterceptor(calls.stream, recovery.StreamServerInterceptor(), m.streamServer),
	)
	testpb.RegisterTestServiceServer(srv, testService{})
	milvuspb.RegisterMilvusServiceServer(srv, milvusService{})
	require.NoError(t, m.init(srv))

	lis := bufconn.Listen(1 << 20)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(m.unaryClient),
		grpc.WithChainStreamInterceptor(m.streamClient),
	)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Errorf("closing the client: %v", err)
		}
		srv.Stop()
		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("Serve: %v", err)
		}
	})
	return &stack{test: testpb.NewTestServiceClient(conn), milvus: milvuspb.NewMilvusServiceClient(conn), calls: calls}
}
