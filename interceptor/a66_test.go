package interceptor_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// axService is the TestService of the A66 tests: UnaryCall fails with the
// code its response type names (a code above 0), else answers with a
// payload of the requested size; FullDuplexCall echoes until the client
// closes its side.
type axService struct {
	testpb.UnimplementedTestServiceServer
}

func (axService) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if c := codes.Code(req.GetResponseSize()); req.GetFillUsername() && c != codes.OK {
		return nil, grpcstatus.Error(c, "as asked")
	}
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: make([]byte, req.GetResponseSize())}}, nil
}

func (axService) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

func (axService) FullDuplexCall(ss grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		req, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// axServe serves axService over bufconn with srvOpts and dials it with
// dialOpts. stop closes the connection and stops the server gracefully,
// after which grpc-go has ended every call.
func axServe(t testing.TB, srvOpts []grpc.ServerOption, dialOpts []grpc.DialOption, init func(*grpc.Server)) (cc *grpc.ClientConn, stop func()) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer(srvOpts...)
	testpb.RegisterTestServiceServer(gs, axService{})
	if init != nil {
		init(gs)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		assert.NoError(t, gs.Serve(lis))
	}()
	dialOpts = append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, dialOpts...)
	cc, err := grpc.NewClient("passthrough:///bufnet", dialOpts...)
	require.NoError(t, err)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		assert.NoError(t, cc.Close())
		gs.GracefulStop()
		<-done
	}
	t.Cleanup(stop)
	return cc, stop
}

// axSeries is one series of a gathered family, by its labels.
type axSeries struct {
	count float64 // a counter's value, or a histogram's sample count
	sum   float64 // a histogram's sum
	zero  uint64  // a histogram's le="0" bucket
}

// axGather returns the series of family name on reg, by their labels
// ("name=value") joined with "|", in the order of the names.
func axGather(t *testing.T, reg *prometheus.Registry, name string) map[string]axSeries {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]axSeries{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for i, lp := range m.GetLabel() {
				if i > 0 {
					key += "|"
				}
				key += lp.GetName() + "=" + lp.GetValue()
			}
			out[key] = axSeriesOf(m)
		}
	}
	return out
}

func axSeriesOf(m *dto.Metric) axSeries {
	if c := m.GetCounter(); c != nil {
		return axSeries{count: c.GetValue()}
	}
	h := m.GetHistogram()
	s := axSeries{count: float64(h.GetSampleCount()), sum: h.GetSampleSum()}
	if b := h.GetBucket(); len(b) > 0 && b[0].GetUpperBound() == 0 {
		s.zero = b[0].GetCumulativeCount()
	}
	return s
}

// axCounts returns the count of each series of family name.
func axCounts(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for k, s := range axGather(t, reg, name) {
		out[k] = s.count
	}
	return out
}

// TestA66CountsServerAndClientExactly counts unary and stream calls,
// successes and failures, a method no service has, a call without
// grpc.StaticMethod and a call whose context is done before it starts,
// on both sides, and checks every family's counts.
func TestA66CountsServerAndClientExactly(t *testing.T) {
	a, err := interceptor.LegacyA66()
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, a.Register(reg))
	require.NoError(t, a.Register(reg), "registering twice is a no-op")
	cc, stop := axServe(t,
		[]grpc.ServerOption{grpc.StatsHandler(a.ServerStatsHandler())},
		a.DialOptions(),
		func(gs *grpc.Server) { require.NoError(t, a.Init(gs)) })
	ctx := context.Background()
	client := testpb.NewTestServiceClient(cc)

	for range 2 {
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 100})
		require.NoError(t, err)
	}
	_, err = client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: int32(codes.NotFound), FillUsername: true})
	require.Equal(t, codes.NotFound, grpcstatus.Code(err))
	// Without grpc.StaticMethod: "other" on the client, the method on the server.
	require.NoError(t, cc.Invoke(ctx, "/grpc.testing.TestService/EmptyCall", &testpb.Empty{}, &testpb.Empty{}))
	// A method no service has: started on the server as "other", never ended.
	err = cc.Invoke(ctx, "/no.such.Service/Call", &testpb.Empty{}, &testpb.Empty{}, grpc.StaticMethod())
	require.Equal(t, codes.Unimplemented, grpcstatus.Code(err))
	// A context done before the call: a call duration, no attempt.
	done, cancel := context.WithCancel(ctx)
	cancel()
	_, err = client.EmptyCall(done, &testpb.Empty{})
	require.Equal(t, codes.Canceled, grpcstatus.Code(err))
	// A bidi stream of two messages.
	st, err := client.FullDuplexCall(ctx)
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: make([]byte, 10)}}))
		_, err := st.Recv()
		require.NoError(t, err)
	}
	require.NoError(t, st.CloseSend())
	_, err = st.Recv()
	require.ErrorIs(t, err, io.EOF)
	stop()

	const (
		unary  = "grpc.testing.TestService/UnaryCall"
		empty  = "grpc.testing.TestService/EmptyCall"
		bidi   = "grpc.testing.TestService/FullDuplexCall"
		target = "grpc_target=passthrough:///bufnet"
	)
	assert.Equal(t, map[string]float64{
		"grpc_method=" + unary: 3,
		"grpc_method=" + empty: 1,
		"grpc_method=" + bidi:  1,
		"grpc_method=other":    1,
	}, axCounts(t, reg, "grpc_server_call_started_total"))
	serverEnded := map[string]float64{
		"grpc_method=" + unary + "|grpc_status=OK":        2,
		"grpc_method=" + unary + "|grpc_status=NOT_FOUND": 1,
		"grpc_method=" + empty + "|grpc_status=OK":        1,
		"grpc_method=" + bidi + "|grpc_status=OK":         1,
	}
	for _, name := range []string{
		"grpc_server_call_duration_seconds",
		"grpc_server_call_sent_total_compressed_message_size_bytes",
		"grpc_server_call_rcvd_total_compressed_message_size_bytes",
	} {
		assert.Equal(t, serverEnded, axCounts(t, reg, name), name)
	}
	assert.Equal(t, map[string]float64{
		"grpc_method=" + unary + "|" + target:        3,
		"grpc_method=other|" + target:                1,
		"grpc_method=no.such.Service/Call|" + target: 1,
		"grpc_method=" + bidi + "|" + target:         1,
	}, axCounts(t, reg, "grpc_client_attempt_started_total"))
	attempts := map[string]float64{
		"grpc_method=" + unary + "|grpc_status=OK|" + target:                   2,
		"grpc_method=" + unary + "|grpc_status=NOT_FOUND|" + target:            1,
		"grpc_method=other|grpc_status=OK|" + target:                           1,
		"grpc_method=no.such.Service/Call|grpc_status=UNIMPLEMENTED|" + target: 1,
		"grpc_method=" + bidi + "|grpc_status=OK|" + target:                    1,
	}
	for _, name := range []string{
		"grpc_client_attempt_duration_seconds",
		"grpc_client_attempt_sent_total_compressed_message_size_bytes",
		"grpc_client_attempt_rcvd_total_compressed_message_size_bytes",
	} {
		assert.Equal(t, attempts, axCounts(t, reg, name), name)
	}
	calls := map[string]float64{
		"grpc_method=" + empty + "|grpc_status=CANCELLED|" + target: 1,
	}
	for k, v := range attempts {
		calls[k] = v
	}
	assert.Equal(t, calls, axCounts(t, reg, "grpc_client_call_duration_seconds"))

	// Sizes: what one side sent, the other received.
	srvSent := axGather(t, reg, "grpc_server_call_sent_total_compressed_message_size_bytes")
	cliRcvd := axGather(t, reg, "grpc_client_attempt_rcvd_total_compressed_message_size_bytes")
	srvRcvd := axGather(t, reg, "grpc_server_call_rcvd_total_compressed_message_size_bytes")
	cliSent := axGather(t, reg, "grpc_client_attempt_sent_total_compressed_message_size_bytes")
	for _, m := range []string{unary, bidi} {
		s, c := "grpc_method="+m+"|grpc_status=OK", "grpc_method="+m+"|grpc_status=OK|"+target
		assert.Positive(t, srvSent[s].sum, m)
		assert.Equal(t, srvSent[s].sum, cliRcvd[c].sum, m)
		assert.Equal(t, srvRcvd[s].sum, cliSent[c].sum, m)
	}
	// The failed call sent nothing: its size falls in the bucket le="0".
	assert.Equal(t, uint64(1), srvSent["grpc_method="+unary+"|grpc_status=NOT_FOUND"].zero)
}

// TestA66RetryAddsAttempts checks that each attempt of a retried call
// counts, on the server and as the client's attempts, and the call once.
func TestA66RetryAddsAttempts(t *testing.T) {
	a, reg := axNew(t)
	cc, stop := axServe(t,
		[]grpc.ServerOption{grpc.StatsHandler(a.ServerStatsHandler())},
		append(a.DialOptions(), grpc.WithDefaultServiceConfig(`{"methodConfig": [{
			"name": [{"service": "grpc.testing.TestService", "method": "UnaryCall"}],
			"retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.001s", "maxBackoff": "0.001s",
				"backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`)),
		func(gs *grpc.Server) { require.NoError(t, a.Init(gs)) })
	_, err := testpb.NewTestServiceClient(cc).UnaryCall(context.Background(),
		&testpb.SimpleRequest{ResponseSize: int32(codes.Unavailable), FillUsername: true})
	require.Equal(t, codes.Unavailable, grpcstatus.Code(err))
	stop()

	const method = "grpc_method=grpc.testing.TestService/UnaryCall"
	const target = "grpc_target=passthrough:///bufnet"
	assert.Equal(t, map[string]float64{method: 3}, axCounts(t, reg, "grpc_server_call_started_total"))
	assert.Equal(t, map[string]float64{method + "|grpc_status=UNAVAILABLE": 3}, axCounts(t, reg, "grpc_server_call_duration_seconds"))
	assert.Equal(t, map[string]float64{method + "|" + target: 3}, axCounts(t, reg, "grpc_client_attempt_started_total"))
	assert.Equal(t, map[string]float64{method + "|grpc_status=UNAVAILABLE|" + target: 3}, axCounts(t, reg, "grpc_client_attempt_duration_seconds"))
	assert.Equal(t, map[string]float64{method + "|grpc_status=UNAVAILABLE|" + target: 1}, axCounts(t, reg, "grpc_client_call_duration_seconds"))
}

// TestNewA66RefusesWhatIsNotItsOwn checks NewA66's and Init's errors.
func TestNewA66RefusesWhatIsNotItsOwn(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []interceptor.Option
		want string
	}{
		{"nil option", []interceptor.Option{nil}, "option 0 is nil"},
		{"nil service", []interceptor.Option{interceptor.WithClientServices(nil)}, "WithClientServices: descriptor 0 is nil"},
		{"no service name", []interceptor.Option{interceptor.WithClientServices(&grpc.ServiceDesc{})}, "WithClientServices: descriptor 0 is nil or has no service name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := interceptor.LegacyA66(tc.opts...)
			require.ErrorContains(t, err, tc.want)
		})
	}
	a, err := interceptor.LegacyA66()
	require.NoError(t, err)
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{A66: a})
	require.NoError(t, err)
	require.ErrorContains(t, install.Init(), "no server")
	var nilServer *grpc.Server
	require.ErrorContains(t, install.Init(nilServer), "server 0 is nil")
	gs := grpc.NewServer()
	testpb.RegisterTestServiceServer(gs, axService{})
	require.NoError(t, install.Init(gs))
	require.ErrorContains(t, install.Init(gs), "Init called twice")

	// Two A66 on one registry: an error that says so.
	reg := prometheus.NewRegistry()
	require.NoError(t, a.Register(reg))
	b, err := interceptor.LegacyA66()
	require.NoError(t, err)
	require.ErrorContains(t, b.Register(reg), "two A66 on one registry?")
	require.ErrorContains(t, a.Register(nil), "nil prometheus.Registerer")
}

// TestA66RegisterNamesTheConflict checks the error when another collector
// has one of A66's families already.
func TestA66RegisterNamesTheConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "grpc_server_call_started_total", Help: "Number of server calls started.",
	}, []string{"grpc_method", "otel_scope_name"})))
	a, err := interceptor.LegacyA66()
	require.NoError(t, err)
	require.ErrorContains(t, a.Register(reg), "grpc_server_call_started_total is already registered on this registry by another collector (another A66's, the OpenTelemetry Prometheus exporter's of grpc-go's plugin, or one of your own)")
}

// TestA66CallsBeforeInitAreOtherAndLoggedOnce checks that calls before
// Init count under "other", and that the first of them is logged.
func TestA66CallsBeforeInitAreOtherAndLoggedOnce(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	a, err := interceptor.LegacyA66(interceptor.WithLogger(zap.New(core)))
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	require.NoError(t, a.Register(reg))
	h := a.ServerStatsHandler()
	info := &stats.RPCTagInfo{FullMethodName: axUnary}
	events := []stats.RPCStats{&stats.InHeader{FullMethod: axUnary}, &stats.End{}}
	axServerEvents(h, info, events)
	axServerEvents(h, info, events)
	assert.Equal(t, map[string]float64{"grpc_method=other": 2}, axCounts(t, reg, "grpc_server_call_started_total"))
	require.Equal(t, 1, logs.Len())
	assert.Contains(t, logs.All()[0].Message, "before Init")
	assert.Equal(t, axUnary, logs.All()[0].ContextMap()["method"])
}

// TestA66ClientServicesNameCallsWithoutStaticMethod checks that a call
// without grpc.StaticMethod is "other" on the client, unless
// WithClientServices lists its service.
func TestA66ClientServicesNameCallsWithoutStaticMethod(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []interceptor.Option
		want string
	}{
		{"plugin's default", nil, "other"},
		{"listed", []interceptor.Option{interceptor.WithClientServices(&testpb.TestService_ServiceDesc)}, "grpc.testing.TestService/EmptyCall"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := interceptor.LegacyA66(tc.opts...)
			require.NoError(t, err)
			reg := prometheus.NewRegistry()
			require.NoError(t, a.Register(reg))
			cc, stop := axServe(t, nil, a.DialOptions(), nil)
			require.NoError(t, cc.Invoke(context.Background(), "/grpc.testing.TestService/EmptyCall", &testpb.Empty{}, &testpb.Empty{}))
			stop()
			assert.Equal(t, map[string]float64{"grpc_method=" + tc.want + "|grpc_target=passthrough:///bufnet": 1},
				axCounts(t, reg, "grpc_client_attempt_started_total"))
			assert.Equal(t, map[string]float64{"grpc_method=" + tc.want + "|grpc_status=OK|grpc_target=passthrough:///bufnet": 1},
				axCounts(t, reg, "grpc_client_call_duration_seconds"))
		})
	}
}

// TestTwoA66CountEachCallOnce installs two A66 on one server and one
// connection, each registered on its own registry, and checks that each
// counts every call once, into its own series.
func TestTwoA66CountEachCallOnce(t *testing.T) {
	a, regA := axNew(t)
	b, regB := axNew(t)
	cc, stop := axServe(t,
		[]grpc.ServerOption{grpc.StatsHandler(a.ServerStatsHandler()), grpc.StatsHandler(b.ServerStatsHandler())},
		append(a.DialOptions(), b.DialOptions()...),
		func(gs *grpc.Server) { require.NoError(t, a.Init(gs)); require.NoError(t, b.Init(gs)) })
	client := testpb.NewTestServiceClient(cc)
	for range 3 {
		_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{ResponseSize: 10})
		require.NoError(t, err)
	}
	stop()
	const method = "grpc_method=grpc.testing.TestService/UnaryCall"
	const target = "grpc_target=passthrough:///bufnet"
	for name, reg := range map[string]*prometheus.Registry{"a": regA, "b": regB} {
		assert.Equal(t, map[string]float64{method: 3}, axCounts(t, reg, "grpc_server_call_started_total"), name)
		assert.Equal(t, map[string]float64{method + "|grpc_status=OK": 3}, axCounts(t, reg, "grpc_server_call_duration_seconds"), name)
		assert.Equal(t, map[string]float64{method + "|" + target: 3}, axCounts(t, reg, "grpc_client_attempt_started_total"), name)
		assert.Equal(t, map[string]float64{method + "|grpc_status=OK|" + target: 3}, axCounts(t, reg, "grpc_client_attempt_duration_seconds"), name)
		assert.Equal(t, map[string]float64{method + "|grpc_status=OK|" + target: 3}, axCounts(t, reg, "grpc_client_call_duration_seconds"), name)
	}
}

// TestA66DialOptionsSharedByTwoConnections checks that one DialOptions
// given to two connections labels each call with its own connection's
// target, calls alternating.
func TestA66DialOptionsSharedByTwoConnections(t *testing.T) {
	a, reg := axNew(t)
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	testpb.RegisterTestServiceServer(gs, axService{})
	go func() { assert.NoError(t, gs.Serve(lis)) }()
	t.Cleanup(gs.Stop)
	opts := append(a.DialOptions(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	var clients []testpb.TestServiceClient
	for _, target := range []string{"passthrough:///one", "passthrough:///two"} {
		cc, err := grpc.NewClient(target, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, cc.Close()) })
		clients = append(clients, testpb.NewTestServiceClient(cc))
	}
	for range 3 {
		for _, c := range clients {
			_, err := c.EmptyCall(context.Background(), &testpb.Empty{})
			require.NoError(t, err)
		}
	}
	const method = "grpc_method=grpc.testing.TestService/EmptyCall"
	assert.Equal(t, map[string]float64{
		method + "|grpc_status=OK|grpc_target=passthrough:///one": 3,
		method + "|grpc_status=OK|grpc_target=passthrough:///two": 3,
	}, axCounts(t, reg, "grpc_client_call_duration_seconds"))
	assert.Equal(t, map[string]float64{
		method + "|grpc_target=passthrough:///one": 3,
		method + "|grpc_target=passthrough:///two": 3,
	}, axCounts(t, reg, "grpc_client_attempt_started_total"))
}
