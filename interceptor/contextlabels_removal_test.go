package interceptor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// clrService calls hook with the call's tenant (its incoming "tenant"
// metadata) in the middle of each call: in a unary call before it
// answers, in a bidi stream after its first message and before its first
// reply (the stream echoes each message until the client closes).
type clrService struct {
	testpb.UnimplementedTestServiceServer
	hook func(tenant string)
}

func clrTenantOf(ctx context.Context) string {
	if v := metadata.ValueFromIncomingContext(ctx, "tenant"); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (s clrService) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	s.hook(clrTenantOf(ctx))
	return &testpb.SimpleResponse{}, nil
}

func (s clrService) FullDuplexCall(ss grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for i := 0; ; i++ {
		if _, err := ss.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if i == 0 {
			s.hook(clrTenantOf(ss.Context()))
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
}

// clrServe serves svc over bufconn with srvOpts and returns a client
// dialled with dialOpts.
func clrServe(t *testing.T, svc testpb.TestServiceServer, srvOpts []grpc.ServerOption, dialOpts []grpc.DialOption, init func(*grpc.Server)) testpb.TestServiceClient {
	t.Helper()
	srv := grpc.NewServer(srvOpts...)
	testpb.RegisterTestServiceServer(srv, svc)
	if init != nil {
		init(srv)
	}
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
	}, dialOpts...)
	conn, err := grpc.NewClient("passthrough:///bufconn", opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close()) })
	return testpb.NewTestServiceClient(conn)
}

// clrCallBoth makes a unary call and a bidi stream of two messages with
// tenant in their outgoing metadata.
func clrCallBoth(t *testing.T, client testpb.TestServiceClient, tenant string) {
	t.Helper()
	ctx := metadata.AppendToOutgoingContext(t.Context(), "tenant", tenant)
	_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.NoError(t, err)
	st, err := client.FullDuplexCall(ctx)
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{}))
		_, err := st.Recv()
		require.NoError(t, err)
	}
	require.NoError(t, st.CloseSend())
	_, err = st.Recv()
	require.ErrorIs(t, err, io.EOF)
}

// clrTuples returns family name's values in reg summed by the value of
// label (histograms by their count), and the number of its series.
func clrTuples(t *testing.T, reg prometheus.Gatherer, name, label string) (map[string]float64, int) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := make(map[string]float64)
	n := 0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			n++
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					out[lp.GetValue()] += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	return out, n
}

// TestCxRemovalDuringCallStaysBounded removes each call's tuple while the
// call runs, on both sides of the provider's families, with a limit of
// one tuple: the calls must end under the overflow tuple, in no series
// of their own, each counted once, and in the overflow counter.
func TestCxRemovalDuringCallStaysBounded(t *testing.T) {
	const limit, tenants = 1, 50
	cl := interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: cxTenant, Limit: limit})
	sm, err := interceptor.LegacyServerMetrics(cl, interceptor.WithInFlight())
	require.NoError(t, err)
	cm, err := interceptor.LegacyClientMetrics(cl, interceptor.WithInFlight())
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, sm.Register(reg))
	require.NoError(t, cm.Register(reg))
	removed := 0
	svc := clrService{hook: func(tenant string) {
		// The client's call is in flight too: it waits for this answer.
		if sm.RemoveContextLabels(tenant) && cm.RemoveContextLabels(tenant) {
			removed++
		}
	}}
	client := clrServe(t, svc,
		[]grpc.ServerOption{grpc.ChainUnaryInterceptor(sm.UnaryServerInterceptor()), grpc.ChainStreamInterceptor(sm.StreamServerInterceptor())},
		[]grpc.DialOption{grpc.WithChainUnaryInterceptor(cm.UnaryClientInterceptor()), grpc.WithChainStreamInterceptor(cm.StreamClientInterceptor())},
		func(s *grpc.Server) { require.NoError(t, sm.Init(s)) })
	for i := range tenants {
		clrCallBoth(t, client, fmt.Sprint("t", i))
	}
	require.Equal(t, 2*tenants, removed, "every tuple was kept, then removed")

	const calls = 2 * tenants // a unary call and a stream per tenant
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			// Two methods; a tuple's series per method: at most
			// limit + 1 tuples (the overflow one) per method and code.
			for _, fam := range []string{"started_total", "handled_total", "msg_received_total", "msg_sent_total", "in_flight"} {
				name := "grpc_" + side + "_" + fam
				byTenant, n := clrTuples(t, reg, name, "tenant")
				assert.LessOrEqual(t, n, 2*(limit+1), "%s: series", name)
				assert.LessOrEqual(t, len(byTenant), limit+1, "%s: tuples %v", name, byTenant)
			}
			started, _ := clrTuples(t, reg, "grpc_"+side+"_started_total", "tenant")
			handled, _ := clrTuples(t, reg, "grpc_"+side+"_handled_total", "tenant")
			over, _ := cxSum(t, reg, "grpcmetrics_"+side+"_context_labels_overflow_total")
			assert.Equal(t, map[string]float64{"overflow": calls}, handled, "every call ends under the overflow tuple, counted once")
			assert.Equal(t, map[string]float64{"overflow": calls}, started, "and starts there, once")
			assert.Equal(t, float64(calls), over, "the overflow counter counts each call the overflow series hold")
			kept, _ := cxSum(t, reg, "grpcmetrics_"+side+"_context_labels_kept")
			assert.Zero(t, kept, "kept")
			inFlight, _ := clrTuples(t, reg, "grpc_"+side+"_in_flight", "tenant")
			for tenant, v := range inFlight {
				assert.Zero(t, v, "in flight, %s", tenant)
			}
		})
	}
	// The server's messages after the removal: each unary request and
	// reply, and each stream's second message and both replies.
	received, _ := clrTuples(t, reg, "grpc_server_msg_received_total", "tenant")
	sent, _ := clrTuples(t, reg, "grpc_server_msg_sent_total", "tenant")
	assert.Equal(t, map[string]float64{"overflow": 2 * tenants}, received, "server received")
	assert.Equal(t, map[string]float64{"overflow": 3 * tenants}, sent, "server sent")

}

// TestA66RemovalDuringCallStaysBounded removes each call's tuple from an
// A66 while the call runs, with a limit of one tuple: the calls must end
// under the overflow tuple, on both sides, in no series of their own, each
// counted once, and in the overflow counter once per side.
func TestA66RemovalDuringCallStaysBounded(t *testing.T) {
	const limit, tenants = 1, 50
	a, err := interceptor.LegacyA66(interceptor.WithInFlight(), interceptor.WithContextLabels(interceptor.ContextLabels{
		Names: []string{"tenant"}, Values: ayTenant, Limit: limit,
	}))
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, a.Register(reg))
	removed := 0
	svc := clrService{hook: func(tenant string) {
		if a.RemoveContextLabels(tenant) {
			removed++
		}
	}}
	client := clrServe(t, svc, []grpc.ServerOption{grpc.StatsHandler(a.ServerStatsHandler())}, a.DialOptions(),
		func(s *grpc.Server) { require.NoError(t, a.Init(s)) })
	for i := range tenants {
		clrCallBoth(t, client, fmt.Sprint("t", i))
	}
	require.Equal(t, 2*tenants, removed, "every tuple was kept, then removed")

	const calls = 2 * tenants // a unary call and a stream per tenant
	for _, name := range []string{
		"grpc_server_call_started_total", "grpc_server_call_duration_seconds",
		"grpc_server_call_sent_total_compressed_message_size_bytes", "grpc_server_call_rcvd_total_compressed_message_size_bytes",
		"grpc_client_attempt_started_total", "grpc_client_attempt_duration_seconds",
		"grpc_client_attempt_sent_total_compressed_message_size_bytes", "grpc_client_attempt_rcvd_total_compressed_message_size_bytes",
		"grpc_client_call_duration_seconds", "grpc_server_call_in_flight", "grpc_client_call_in_flight",
	} {
		byTenant, n := clrTuples(t, reg, name, "tenant")
		assert.LessOrEqual(t, n, 2*(limit+1), "%s: series", name)
		assert.LessOrEqual(t, len(byTenant), limit+1, "%s: tuples %v", name, byTenant)
	}
	for _, name := range []string{"grpc_server_call_started_total", "grpc_server_call_duration_seconds", "grpc_client_attempt_started_total", "grpc_client_attempt_duration_seconds", "grpc_client_call_duration_seconds"} {
		byTenant, _ := clrTuples(t, reg, name, "tenant")
		assert.Equal(t, map[string]float64{"overflow": calls}, byTenant, "%s: every call counted once, under the overflow tuple", name)
	}
	for _, name := range []string{"grpc_server_call_in_flight", "grpc_client_call_in_flight"} {
		byTenant, _ := clrTuples(t, reg, name, "tenant")
		for tenant, v := range byTenant {
			assert.Zero(t, v, "%s, %s", name, tenant)
		}
	}
	over, _ := cxSum(t, reg, "grpcmetrics_a66_context_labels_overflow_total")
	assert.Equal(t, float64(2*calls), over, "the overflow counter counts each call once per side")
	kept, _ := cxSum(t, reg, "grpcmetrics_a66_context_labels_kept")
	assert.Zero(t, kept, "kept")
}

// clrChurn makes calls from workers with tenants t0…t4 while another
// goroutine removes them over and over, checking the bound of each of
// families as it goes (check is called after each round of removals),
// until every call has ended.
func clrChurn(t *testing.T, client testpb.TestServiceClient, remove func(tenant string) bool, check func()) {
	const workers, callsEach, tenants = 8, 60, 5
	done := make(chan struct{})
	removerDone := make(chan struct{})
	go func() {
		defer close(removerDone)
		for {
			for i := range tenants {
				remove(fmt.Sprint("t", i))
			}
			check()
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range callsEach {
				ctx := metadata.AppendToOutgoingContext(t.Context(), "tenant", fmt.Sprint("t", (w+i)%tenants))
				if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
					t.Errorf("call: %v", err)
				}
			}
		})
	}
	wg.Wait()
	close(done)
	<-removerDone
	check()
}

// clrBound fails t if family name in reg has more than limit + 1 tuples
// of the label tenant.
func clrBound(t *testing.T, reg prometheus.Gatherer, name string, limit int) {
	t.Helper()
	byTenant, _ := clrTuples(t, reg, name, "tenant")
	if len(byTenant) > limit+1 {
		t.Errorf("%s: %d tuples, more than the limit %d and the overflow tuple: %v", name, len(byTenant), limit, byTenant)
	}
}

// TestCxRemovalRacingCalls removes tuples while calls of them run, on both
// sides of the provider's families, and checks that each family stays
// within its bound throughout, and that the overflow tuple's series agree
// with the overflow counter once every call has ended.
func TestCxRemovalRacingCalls(t *testing.T) {
	const limit = 2
	cl := interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: cxTenant, Limit: limit})
	sm, err := interceptor.LegacyServerMetrics(cl, interceptor.WithInFlight())
	require.NoError(t, err)
	cm, err := interceptor.LegacyClientMetrics(cl, interceptor.WithInFlight())
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, sm.Register(reg))
	require.NoError(t, cm.Register(reg))
	client := clrServe(t, clrService{hook: func(string) {}},
		[]grpc.ServerOption{grpc.ChainUnaryInterceptor(sm.UnaryServerInterceptor())},
		[]grpc.DialOption{grpc.WithChainUnaryInterceptor(cm.UnaryClientInterceptor())},
		func(s *grpc.Server) { require.NoError(t, sm.Init(s)) })
	families := []string{"started_total", "handled_total", "msg_received_total", "msg_sent_total", "in_flight"}
	clrChurn(t, client, func(tenant string) bool {
		return sm.RemoveContextLabels(tenant) && cm.RemoveContextLabels(tenant)
	}, func() {
		for _, side := range []string{"server", "client"} {
			for _, fam := range families {
				clrBound(t, reg, "grpc_"+side+"_"+fam, limit)
			}
		}
	})
	for _, side := range []string{"server", "client"} {
		started, _ := clrTuples(t, reg, "grpc_"+side+"_started_total", "tenant")
		handled, _ := clrTuples(t, reg, "grpc_"+side+"_handled_total", "tenant")
		over, _ := cxSum(t, reg, "grpcmetrics_"+side+"_context_labels_overflow_total")
		assert.Equal(t, over, handled[interceptor.ContextLabelOverflow], "%s: handled under overflow", side)
		assert.Equal(t, over, started[interceptor.ContextLabelOverflow], "%s: started under overflow", side)
		inFlight, _ := clrTuples(t, reg, "grpc_"+side+"_in_flight", "tenant")
		for tenant, v := range inFlight {
			assert.Zero(t, v, "%s in flight, %s", side, tenant)
		}
		t.Logf("%s: %v calls under overflow", side, over)
	}
}

// TestA66RemovalRacingCalls is TestCxRemovalRacingCalls for an A66.
func TestA66RemovalRacingCalls(t *testing.T) {
	const limit = 2
	a, err := interceptor.LegacyA66(interceptor.WithInFlight(), interceptor.WithContextLabels(interceptor.ContextLabels{
		Names: []string{"tenant"}, Values: ayTenant, Limit: limit,
	}))
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, a.Register(reg))
	client := clrServe(t, clrService{hook: func(string) {}}, []grpc.ServerOption{grpc.StatsHandler(a.ServerStatsHandler())}, a.DialOptions(),
		func(s *grpc.Server) { require.NoError(t, a.Init(s)) })
	families := []string{
		"grpc_server_call_started_total", "grpc_server_call_duration_seconds", "grpc_server_call_in_flight",
		"grpc_client_attempt_started_total", "grpc_client_attempt_duration_seconds", "grpc_client_call_duration_seconds", "grpc_client_call_in_flight",
	}
	clrChurn(t, client, func(tenant string) bool { return a.RemoveContextLabels(tenant) }, func() {
		for _, name := range families {
			clrBound(t, reg, name, limit)
		}
	})
	over, _ := cxSum(t, reg, "grpcmetrics_a66_context_labels_overflow_total")
	srvStarted, _ := clrTuples(t, reg, "grpc_server_call_started_total", "tenant")
	srvEnded, _ := clrTuples(t, reg, "grpc_server_call_duration_seconds", "tenant")
	cliEnded, _ := clrTuples(t, reg, "grpc_client_call_duration_seconds", "tenant")
	assert.Equal(t, srvStarted[interceptor.ContextLabelOverflow], srvEnded[interceptor.ContextLabelOverflow], "server: started and ended under overflow")
	assert.Equal(t, over, srvEnded[interceptor.ContextLabelOverflow]+cliEnded[interceptor.ContextLabelOverflow], "the overflow counter, once per side")
	for _, name := range []string{"grpc_server_call_in_flight", "grpc_client_call_in_flight"} {
		byTenant, _ := clrTuples(t, reg, name, "tenant")
		for tenant, v := range byTenant {
			assert.Zero(t, v, "%s, %s", name, tenant)
		}
	}
	t.Logf("%v calls under overflow, both sides", over)
}
