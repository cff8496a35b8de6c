package interceptor_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// axUnary is the full method of TestService's UnaryCall.
const axUnary = "/grpc.testing.TestService/UnaryCall"

// axNew builds an A66 registered on a new registry.
func axNew(t testing.TB) (*interceptor.A66, *prometheus.Registry) {
	t.Helper()
	a, err := interceptor.LegacyA66()
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	require.NoError(t, a.Register(reg))
	return a, reg
}

// axServerEvents runs the events of one call through a server's stats
// handler h: TagRPC with info, then each event.
func axServerEvents(h stats.Handler, info *stats.RPCTagInfo, events []stats.RPCStats) {
	ctx := h.TagRPC(context.Background(), info)
	for _, ev := range events {
		h.HandleRPC(ctx, ev)
	}
}

// TestA66ServerCallAllocatesOnce checks that the server side's stats
// handler allocates once per call, its context node, and counts it.
func TestA66ServerCallAllocatesOnce(t *testing.T) {
	a, reg := axNew(t)
	gs := grpc.NewServer()
	testpb.RegisterTestServiceServer(gs, axService{})
	require.NoError(t, a.Init(gs))
	h := a.ServerStatsHandler()
	info := &stats.RPCTagInfo{FullMethodName: axUnary}
	// The events grpc-go gives a server's stats handler for a unary call.
	events := []stats.RPCStats{
		&stats.InHeader{FullMethod: axUnary}, &stats.Begin{},
		&stats.InPayload{CompressedLength: 10}, &stats.OutHeader{},
		&stats.OutPayload{CompressedLength: 20}, &stats.OutTrailer{}, &stats.End{},
	}
	axServerEvents(h, info, events) // warm
	assert.Equal(t, 1.0, testing.AllocsPerRun(200, func() { axServerEvents(h, info, events) }))
	assert.Equal(t, map[string]float64{"grpc_method=grpc.testing.TestService/UnaryCall": 202},
		axCounts(t, reg, "grpc_server_call_started_total"))
	sent := axGather(t, reg, "grpc_server_call_sent_total_compressed_message_size_bytes")
	assert.Equal(t, axSeries{count: 202, sum: 202 * 20}, sent["grpc_method=grpc.testing.TestService/UnaryCall|grpc_status=OK"])
}

// axNopHandler is a stats handler that does nothing.
type axNopHandler struct{}

func (axNopHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (axNopHandler) HandleRPC(context.Context, stats.RPCStats)                         {}
func (axNopHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (axNopHandler) HandleConn(context.Context, stats.ConnStats)                       {}

// axAllocRuns is how many calls the bufconn allocation tests average.
const axAllocRuns = 500

// axCallAllocs returns the allocations of one unary call over bufconn,
// server and client installed with srvOpts and dialOpts, averaged over
// axAllocRuns calls, and the connection's stop.
func axCallAllocs(t *testing.T, srvOpts []grpc.ServerOption, dialOpts []grpc.DialOption, init func(*grpc.Server)) (float64, func()) {
	t.Helper()
	cc, stop := axServe(t, srvOpts, dialOpts, init)
	client := testpb.NewTestServiceClient(cc)
	req := &testpb.SimpleRequest{ResponseSize: 10}
	failed := false
	call := func() {
		_, err := client.UnaryCall(context.Background(), req)
		failed = failed || err != nil
	}
	for range 20 {
		call() // warm
	}
	allocs := testing.AllocsPerRun(axAllocRuns, call)
	require.False(t, failed, "a call failed")
	return allocs, stop
}

// axNopDialOptions are the client side's shape doing nothing: a stats
// handler and a unary and a stream interceptor that pass the call on.
func axNopDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(ctx, desc, cc, method, opts...)
		}),
		grpc.WithStatsHandler(axNopHandler{}),
	}
}

// TestA66AllocationsOverBufconn checks, over bufconn, that the server side
// costs at most 1 allocation per unary call beyond a stats handler that
// does nothing, and the client side at most 2 beyond a stats handler and
// interceptors that do nothing (grpc-go builds its events for any stats
// handler), and that the measured calls were counted.
func TestA66AllocationsOverBufconn(t *testing.T) {
	if axRace {
		t.Skip("the race detector moves allocation counts over bufconn; run without -race")
	}
	nop, stop := axCallAllocs(t, []grpc.ServerOption{grpc.StatsHandler(axNopHandler{})}, nil, nil)
	stop()
	a, reg := axNew(t)
	srv, stop := axCallAllocs(t, []grpc.ServerOption{grpc.StatsHandler(a.ServerStatsHandler())}, nil,
		func(gs *grpc.Server) { require.NoError(t, a.Init(gs)) })
	stop()
	t.Logf("server: a stats handler that does nothing %v allocs per call, A66 %v", nop, srv)
	assert.LessOrEqual(t, srv-nop, 1.0, "server allocations per call beyond a no-op stats handler")
	assert.Equal(t, map[string]float64{"grpc_method=grpc.testing.TestService/UnaryCall": axAllocRuns + 21},
		axCounts(t, reg, "grpc_server_call_started_total"))

	none, stop := axCallAllocs(t, nil, nil, nil)
	stop()
	cnop, stop := axCallAllocs(t, nil, axNopDialOptions(), nil)
	stop()
	c, creg := axNew(t)
	cli, stop := axCallAllocs(t, nil, c.DialOptions(), nil)
	stop()
	t.Logf("client: none %v allocs per call, a stats handler and interceptors that do nothing %v, A66 %v", none, cnop, cli)
	assert.LessOrEqual(t, cli-cnop, 2.0, "client allocations per call beyond a no-op stats handler and interceptors")
	assert.Equal(t, map[string]float64{"grpc_method=grpc.testing.TestService/UnaryCall|grpc_status=OK|grpc_target=passthrough:///bufnet": axAllocRuns + 21},
		axCounts(t, creg, "grpc_client_call_duration_seconds"))
}

// axStreamAllocs returns, over bufconn with srvOpts and dialOpts, the
// allocations of a bidi stream's message exchange (one sent, one echoed
// back), and of a whole stream of one exchange, each averaged.
func axStreamAllocs(t *testing.T, srvOpts []grpc.ServerOption, dialOpts []grpc.DialOption, init func(*grpc.Server)) (perMsg, perStream float64) {
	t.Helper()
	cc, stop := axServe(t, srvOpts, dialOpts, init)
	defer stop()
	client := testpb.NewTestServiceClient(cc)
	req := &testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: make([]byte, 10)}}
	failed := false
	st, err := client.FullDuplexCall(context.Background())
	require.NoError(t, err)
	exchange := func(st grpc.BidiStreamingClient[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) {
		failed = failed || st.Send(req) != nil
		_, err := st.Recv()
		failed = failed || err != nil
	}
	for range 20 {
		exchange(st) // warm
	}
	perMsg = testing.AllocsPerRun(axAllocRuns, func() { exchange(st) })
	require.NoError(t, st.CloseSend())
	_, err = st.Recv()
	require.ErrorIs(t, err, io.EOF)
	whole := func() {
		st, err := client.FullDuplexCall(context.Background())
		if err != nil {
			failed = true
			return
		}
		exchange(st)
		failed = failed || st.CloseSend() != nil
		_, err = st.Recv()
		failed = failed || !errors.Is(err, io.EOF)
	}
	whole()
	perStream = testing.AllocsPerRun(100, whole)
	require.False(t, failed, "a stream failed")
	return perMsg, perStream
}

// TestA66StreamAllocationsOverBufconn checks, over bufconn, that a stream's
// messages cost A66 no allocation beyond a stats handler (and, on the
// client, interceptors) that do nothing, and a stream a constant few: 1 on
// the server, 3 on the client (the call's state, its OnFinish callback,
// the attempt's state).
func TestA66StreamAllocationsOverBufconn(t *testing.T) {
	if axRace {
		t.Skip("the race detector moves allocation counts over bufconn; run without -race")
	}
	nopMsg, nopStream := axStreamAllocs(t, []grpc.ServerOption{grpc.StatsHandler(axNopHandler{})}, axNopDialOptions(), nil)
	a, _ := axNew(t)
	srvMsg, srvStream := axStreamAllocs(t, []grpc.ServerOption{grpc.StatsHandler(a.ServerStatsHandler())}, axNopDialOptions(),
		func(gs *grpc.Server) { require.NoError(t, a.Init(gs)) })
	c, _ := axNew(t)
	cliMsg, cliStream := axStreamAllocs(t, []grpc.ServerOption{grpc.StatsHandler(axNopHandler{})}, c.DialOptions(), nil)
	t.Logf("per message: no-op %v, A66 server %v, A66 client %v; per stream: no-op %v, A66 server %v, A66 client %v",
		nopMsg, srvMsg, cliMsg, nopStream, srvStream, cliStream)
	assert.LessOrEqual(t, srvMsg, nopMsg, "server allocations per message")
	assert.LessOrEqual(t, cliMsg, nopMsg, "client allocations per message")
	assert.LessOrEqual(t, srvStream-nopStream, 1.0, "server allocations per stream")
	assert.LessOrEqual(t, cliStream-nopStream, 3.0, "client allocations per stream")
}
