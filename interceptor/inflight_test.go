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

// cxService is a grpc_testing TestService for the in-flight and context
// label tests. UnaryCall succeeds, fails with InvalidArgument, panics, or
// blocks until release is closed, as its payload says; StreamingOutputCall
// sends one message and waits for its context to end.
type cxService struct {
	testpb.UnimplementedTestServiceServer
	release chan struct{}
}

func (s cxService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	switch string(req.GetPayload().GetBody()) {
	case "err":
		return nil, grpcstatus.Error(codes.InvalidArgument, "bad")
	case "panic":
		panic("cx handler panic")
	case "block":
		select {
		case <-s.release:
		case <-ctx.Done():
		}
	}
	return &testpb.SimpleResponse{}, nil
}

func (cxService) StreamingOutputCall(_ *testpb.StreamingOutputCallRequest, ss grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	if err := ss.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
		return err
	}
	<-ss.Context().Done()
	return grpcstatus.FromContextError(ss.Context().Err()).Err()
}

// cxStack is a bufconn server of cxService, counted by sm behind a
// recovery interceptor, and a client connection counted by cm.
type cxStack struct {
	client testpb.TestServiceClient
}

func cxStart(t testing.TB, svc cxService, sm *interceptor.ServerMetrics, cm *interceptor.ClientMetrics) *cxStack {
	t.Helper()
	rec := recovery.WithRecoveryHandler(func(any) error { return grpcstatus.Error(codes.Internal, "recovered") })
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(rec), sm.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(rec), sm.StreamServerInterceptor()),
	)
	testpb.RegisterTestServiceServer(srv, svc)
	require.NoError(t, sm.Init(srv))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }() //nolint:errcheck // Stop ends it
	t.Cleanup(srv.Stop)
	opts := []grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}
	if cm != nil {
		opts = append(opts, grpc.WithChainUnaryInterceptor(cm.UnaryClientInterceptor()), grpc.WithChainStreamInterceptor(cm.StreamClientInterceptor()))
	}
	conn, err := grpc.NewClient("passthrough:///bufconn", opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close()) })
	return &cxStack{client: testpb.NewTestServiceClient(conn)}
}

// cxSum returns the sum of the values of family name in reg (0 if absent),
// and its number of series.
func cxSum(t testing.TB, reg prometheus.Gatherer, name string) (sum float64, series int) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			series++
			switch {
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum, series
}

// TestCxInFlightReturnsToZero runs 10,000 calls mixing successes, errors,
// panics behind recovery and cancelled streams, concurrently, and checks
// that the server's and the client's in-flight gauges come back to 0, and
// that a blocked call shows in them.
func TestCxInFlightReturnsToZero(t *testing.T) {
	sm, err := interceptor.LegacyServerMetrics(interceptor.WithInFlight())
	require.NoError(t, err)
	cm, err := interceptor.LegacyClientMetrics(interceptor.WithInFlight())
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, sm.Register(reg))
	require.NoError(t, cm.Register(reg))
	svc := cxService{release: make(chan struct{})}
	st := cxStart(t, svc, sm, cm)

	t.Run("blocked call", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			_, err := st.client.UnaryCall(t.Context(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("block")}})
			done <- err
		}()
		require.Eventually(t, func() bool {
			v, _ := cxSum(t, reg, "grpc_server_in_flight")
			return v == 1
		}, 10*time.Second, time.Millisecond)
		v, _ := cxSum(t, reg, "grpc_client_in_flight")
		assert.Equal(t, 1.0, v)
		close(svc.release)
		require.NoError(t, <-done)
	})

	const calls, workers = 10_000, 8
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				cxMixedCall(t, st.client, i)
			}
		})
	}
	for i := range calls {
		next <- i
	}
	close(next)
	wg.Wait()

	for _, name := range []string{"grpc_server_in_flight", "grpc_client_in_flight"} {
		require.Eventually(t, func() bool {
			v, _ := cxSum(t, reg, name)
			return v == 0
		}, 10*time.Second, time.Millisecond, name)
	}
	for _, side := range []string{"server", "client"} {
		started, _ := cxSum(t, reg, "grpc_"+side+"_started_total")
		handled, _ := cxSum(t, reg, "grpc_"+side+"_handled_total")
		assert.Equal(t, float64(calls+1), started, side)
		assert.Equal(t, float64(calls+1), handled, side)
	}
}

// cxMixedCall makes call i of the mix: a success, an error, a panic, or a
// stream cancelled after its first message.
func cxMixedCall(t *testing.T, client testpb.TestServiceClient, i int) {
	ctx := t.Context()
	switch i % 4 {
	case 0, 1, 2:
		body := [...]string{"ok", "err", "panic"}[i%4]
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte(body)}})
		if want := [...]codes.Code{codes.OK, codes.InvalidArgument, codes.Internal}[i%4]; grpcstatus.Code(err) != want {
			t.Errorf("call %d (%s): %v, want code %v", i, body, err, want)
		}
	case 3:
		sctx, cancel := context.WithCancel(ctx)
		stream, err := client.StreamingOutputCall(sctx, &testpb.StreamingOutputCallRequest{})
		if err == nil {
			_, err = stream.Recv()
		}
		cancel()
		if err != nil {
			t.Errorf("stream %d: %v", i, err)
		}
	}
}
