package interceptor_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// ayStart serves svc over bufconn, counted by a's stats handler with a
// recovery interceptor in front of the handler, and dials it with a's
// DialOptions.
func ayStart(t testing.TB, svc cxService, a *interceptor.A66) *grpc.ClientConn {
	t.Helper()
	rec := recovery.WithRecoveryHandler(func(any) error { return grpcstatus.Error(codes.Internal, "recovered") })
	srv := grpc.NewServer(
		grpc.StatsHandler(a.ServerStatsHandler()),
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(rec)),
		grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(rec)),
	)
	testpb.RegisterTestServiceServer(srv, svc)
	require.NoError(t, a.Init(srv))
	lis := bufconn.Listen(1 << 20)
	served := make(chan struct{})
	go func() {
		defer close(served)
		assert.NoError(t, srv.Serve(lis))
	}()
	t.Cleanup(func() { srv.Stop(); <-served })
	opts := append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, a.DialOptions()...)
	conn, err := grpc.NewClient("passthrough:///bufconn", opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close()) })
	return conn
}

// TestA66InFlightReturnsToZero runs a few thousand calls mixing
// successes, errors, panics behind recovery, cancelled streams, streams
// cancelled before they start and calls of a method no server registers,
// concurrently, and checks that A66's in-flight gauges show a blocked call
// and come back to 0, with none for the unknown method.
func TestA66InFlightReturnsToZero(t *testing.T) {
	a, err := interceptor.LegacyA66(interceptor.WithInFlight())
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, a.Register(reg))
	svc := cxService{release: make(chan struct{})}
	conn := ayStart(t, svc, a)
	client := testpb.NewTestServiceClient(conn)

	t.Run("blocked call", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			_, err := client.UnaryCall(t.Context(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("block")}})
			done <- err
		}()
		require.Eventually(t, func() bool {
			v, _ := cxSum(t, reg, "grpc_server_call_in_flight")
			return v == 1
		}, 10*time.Second, time.Millisecond)
		v, _ := cxSum(t, reg, "grpc_client_call_in_flight")
		assert.Equal(t, 1.0, v)
		close(svc.release)
		require.NoError(t, <-done)
	})

	const calls, workers = 3_000, 8
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				switch i % 6 {
				case 4: // a method no server registers: no Begin on the server
					err := conn.Invoke(t.Context(), "/no.Such/Method", &testpb.Empty{}, &testpb.Empty{})
					assert.Equal(t, codes.Unimplemented, grpcstatus.Code(err))
				case 5: // a stream whose context ended before it started
					ctx, cancel := context.WithCancel(t.Context())
					cancel()
					_, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{})
					assert.Equal(t, codes.Canceled, grpcstatus.Code(err))
				default:
					cxMixedCall(t, client, i)
				}
			}
		})
	}
	for i := range calls {
		next <- i
	}
	close(next)
	wg.Wait()

	for _, name := range []string{"grpc_server_call_in_flight", "grpc_client_call_in_flight"} {
		require.Eventually(t, func() bool {
			v, _ := cxSum(t, reg, name)
			return v == 0
		}, 10*time.Second, time.Millisecond, name)
	}
	ended, _ := cxSum(t, reg, "grpc_server_call_duration_seconds")
	assert.Equal(t, float64(1+calls-2*calls/6), ended, "server calls ended (all but the unknown method's and the streams cancelled before they start)")
	assert.NotContains(t, axCounts(t, reg, "grpc_server_call_in_flight"), "grpc_method=other", "a method no server registers never counts in flight")
}

// TestA66InFlightIsOffByDefault checks that A66 has no in-flight gauge
// without WithInFlight.
func TestA66InFlightIsOffByDefault(t *testing.T) {
	a, err := interceptor.LegacyA66()
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, a.Register(reg))
	conn := ayStart(t, cxService{}, a)
	_, err = testpb.NewTestServiceClient(conn).UnaryCall(t.Context(), &testpb.SimpleRequest{})
	require.NoError(t, err)
	for _, name := range []string{"grpc_server_call_in_flight", "grpc_client_call_in_flight"} {
		_, n := cxSum(t, reg, name)
		assert.Zero(t, n, name)
	}
}
