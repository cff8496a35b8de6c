package compat

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/internal/expiring"
)

const (
	testSvc   = "grpc.testing.TestService"
	milvusSvc = "milvus.proto.milvus.MilvusService"

	serverHandled  = "grpc_server_handled_total"
	clientHandled  = "grpc_client_handled_total"
	serverHandling = "grpc_server_handling_seconds"
	serverFailed   = "grpcmetrics_server_response_failed_total"
	clientFailed   = "grpcmetrics_client_response_failed_total"

	serverBeforeInit = "grpcmetrics_server_calls_before_init_total"
)

// scenario is one group of calls made through both libraries.
type scenario struct {
	name string
	// run makes the calls on s and checks what the client sees.
	run func(t *testing.T, s *stack)
	// serverCalls is how many calls reach the server.
	serverCalls int64
	// wantServer and wantClient are grpcmetrics' non-zero
	// grpc_{server,client}_handled_total series; wantServerFailed and
	// wantClientFailed its grpcmetrics_*_response_failed_total series.
	wantServer, wantClient             map[string]float64
	wantServerFailed, wantClientFailed map[string]float64
	// panicked are the server methods whose handler panicked, once per
	// entry. go-grpc-middleware's recovery (v2.3.4, default options)
	// turns a panic into a *recovery.PanicError, which is no status
	// error, so the client sees code Unknown. By design (see
	// ServerMetrics.UnaryServerInterceptor) grpcmetrics counts such a call
	// as handled with code Unknown, and observes its time; the provider
	// counts it as started (and its request as received) but never as
	// handled, and observes nothing.
	panicked []method
}

// method names one method of the server under test.
type method struct{ typ, service, name string }

// code returns err's gRPC code.
func code(err error) codes.Code { return status.Code(err) }

// drain receives from a server-streaming or bidi stream until it ends and
// returns how many messages came and the error that ended it (nil for
// io.EOF).
func drain(recv func() (*testpb.StreamingOutputCallResponse, error)) (int, error) {
	n := 0
	for {
		_, err := recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func params(n int) []*testpb.ResponseParameters {
	ps := make([]*testpb.ResponseParameters, n)
	for i := range ps {
		ps[i] = &testpb.ResponseParameters{}
	}
	return ps
}

func echo(c codes.Code) *testpb.EchoStatus {
	return &testpb.EchoStatus{Code: int32(c), Message: c.String()}
}

var blocking = &testpb.Payload{Body: []byte(blockBody)}

func scenarios() []scenario {
	return []scenario{
		{
			name: "unary success",
			run: func(t *testing.T, s *stack) {
				for range 3 {
					_, err := s.test.UnaryCall(t.Context(), &testpb.SimpleRequest{})
					require.NoError(t, err)
				}
			},
			serverCalls: 3,
			wantServer:  map[string]float64{series("unary", testSvc, "UnaryCall", "OK"): 3},
			wantClient:  map[string]float64{series("unary", testSvc, "UnaryCall", "OK"): 3},
		},
		{
			name: "unary error codes",
			run: func(t *testing.T, s *stack) {
				for _, c := range []codes.Code{codes.InvalidArgument, codes.NotFound, codes.NotFound, codes.Internal, codes.Unavailable, codes.ResourceExhausted, codes.Unknown} {
					_, err := s.test.UnaryCall(t.Context(), &testpb.SimpleRequest{ResponseStatus: echo(c)})
					require.Equal(t, c, code(err))
				}
				_, err := s.test.UnimplementedCall(t.Context(), &testpb.Empty{})
				require.Equal(t, codes.Unimplemented, code(err))
			},
			serverCalls: 8,
			wantServer:  unaryCodes(),
			wantClient:  unaryCodes(),
		},
		{
			name: "unary body status",
			run: func(t *testing.T, s *stack) {
				for _, name := range []string{missingCollection, "c", missingCollection} {
					_, err := s.milvus.DescribeCollection(t.Context(), &milvuspb.DescribeCollectionRequest{CollectionName: name})
					require.NoError(t, err)
				}
			},
			serverCalls:      3,
			wantServer:       map[string]float64{series("unary", milvusSvc, "DescribeCollection", "OK"): 3},
			wantClient:       map[string]float64{series("unary", milvusSvc, "DescribeCollection", "OK"): 3},
			wantServerFailed: map[string]float64{series("unary", milvusSvc, "DescribeCollection"): 2},
			wantClientFailed: map[string]float64{series("unary", milvusSvc, "DescribeCollection"): 2},
		},
		{
			name: "unary handler panic",
			run: func(t *testing.T, s *stack) {
				for range 2 {
					_, err := s.test.EmptyCall(t.Context(), &testpb.Empty{})
					require.Equal(t, codes.Unknown, code(err), "recovery's PanicError reaches the client as Unknown")
				}
			},
			serverCalls: 2,
			wantServer:  map[string]float64{series("unary", testSvc, "EmptyCall", "Unknown"): 2},
			wantClient:  map[string]float64{series("unary", testSvc, "EmptyCall", "Unknown"): 2},
			panicked:    []method{{"unary", testSvc, "EmptyCall"}, {"unary", testSvc, "EmptyCall"}},
		},
		{
			name: "server streaming",
			run: func(t *testing.T, s *stack) {
				st, err := s.test.StreamingOutputCall(t.Context(), &testpb.StreamingOutputCallRequest{ResponseParameters: params(3)})
				require.NoError(t, err)
				n, err := drain(st.Recv)
				require.NoError(t, err)
				require.Equal(t, 3, n)

				st, err = s.test.StreamingOutputCall(t.Context(), &testpb.StreamingOutputCallRequest{ResponseParameters: params(1), ResponseStatus: echo(codes.FailedPrecondition)})
				require.NoError(t, err)
				n, err = drain(st.Recv)
				require.Equal(t, codes.FailedPrecondition, code(err))
				require.Equal(t, 1, n)
			},
			serverCalls: 2,
			wantServer: map[string]float64{
				series("server_stream", testSvc, "StreamingOutputCall", "OK"):                 1,
				series("server_stream", testSvc, "StreamingOutputCall", "FailedPrecondition"): 1,
			},
			wantClient: map[string]float64{
				series("server_stream", testSvc, "StreamingOutputCall", "OK"):                 1,
				series("server_stream", testSvc, "StreamingOutputCall", "FailedPrecondition"): 1,
			},
		},
		{
			name: "client streaming",
			run: func(t *testing.T, s *stack) {
				st, err := s.test.StreamingInputCall(t.Context())
				require.NoError(t, err)
				for _, body := range []string{"", "", ""} {
					require.NoError(t, st.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: []byte(body)}}))
				}
				_, err = st.CloseAndRecv()
				require.NoError(t, err)

				st, err = s.test.StreamingInputCall(t.Context())
				require.NoError(t, err)
				require.NoError(t, st.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: []byte("bad")}}))
				_, err = st.CloseAndRecv()
				require.Equal(t, codes.InvalidArgument, code(err))
			},
			serverCalls: 2,
			wantServer: map[string]float64{
				series("client_stream", testSvc, "StreamingInputCall", "OK"):              1,
				series("client_stream", testSvc, "StreamingInputCall", "InvalidArgument"): 1,
			},
			wantClient: map[string]float64{
				series("client_stream", testSvc, "StreamingInputCall", "OK"):              1,
				series("client_stream", testSvc, "StreamingInputCall", "InvalidArgument"): 1,
			},
		},
		{
			name: "bidi streaming",
			run: func(t *testing.T, s *stack) {
				st, err := s.test.FullDuplexCall(t.Context())
				require.NoError(t, err)
				for range 2 {
					require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: params(2)}))
				}
				require.NoError(t, st.CloseSend())
				n, err := drain(st.Recv)
				require.NoError(t, err)
				require.Equal(t, 4, n)

				st, err = s.test.FullDuplexCall(t.Context())
				require.NoError(t, err)
				require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: params(1), ResponseStatus: echo(codes.Aborted)}))
				n, err = drain(st.Recv)
				require.Equal(t, codes.Aborted, code(err))
				require.Equal(t, 1, n)
			},
			serverCalls: 2,
			wantServer: map[string]float64{
				series("bidi_stream", testSvc, "FullDuplexCall", "OK"):      1,
				series("bidi_stream", testSvc, "FullDuplexCall", "Aborted"): 1,
			},
			wantClient: map[string]float64{
				series("bidi_stream", testSvc, "FullDuplexCall", "OK"):      1,
				series("bidi_stream", testSvc, "FullDuplexCall", "Aborted"): 1,
			},
		},
		{
			name: "stream handler panic",
			run: func(t *testing.T, s *stack) {
				st, err := s.test.HalfDuplexCall(t.Context())
				require.NoError(t, err)
				require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{}))
				n, err := drain(st.Recv)
				require.Equal(t, codes.Unknown, code(err), "recovery's PanicError reaches the client as Unknown")
				require.Zero(t, n)
			},
			serverCalls: 1,
			wantServer:  map[string]float64{series("bidi_stream", testSvc, "HalfDuplexCall", "Unknown"): 1},
			wantClient:  map[string]float64{series("bidi_stream", testSvc, "HalfDuplexCall", "Unknown"): 1},
			panicked:    []method{{"bidi_stream", testSvc, "HalfDuplexCall"}},
		},
		{
			name: "client cancels mid-stream",
			run: func(t *testing.T, s *stack) {
				ctx, cancel := context.WithCancel(t.Context())
				st, err := s.test.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params(2), Payload: blocking})
				require.NoError(t, err)
				for range 2 {
					_, err := st.Recv()
					require.NoError(t, err)
				}
				cancel()
				_, err = st.Recv()
				require.Equal(t, codes.Canceled, code(err))

				ctx, cancel = context.WithCancel(t.Context())
				bidi, err := s.test.FullDuplexCall(ctx)
				require.NoError(t, err)
				require.NoError(t, bidi.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: params(1)}))
				_, err = bidi.Recv()
				require.NoError(t, err)
				cancel()
				_, err = bidi.Recv()
				require.Equal(t, codes.Canceled, code(err))
			},
			serverCalls: 2,
			wantServer: map[string]float64{
				series("server_stream", testSvc, "StreamingOutputCall", "Canceled"): 1,
				series("bidi_stream", testSvc, "FullDuplexCall", "Canceled"):        1,
			},
			wantClient: map[string]float64{
				series("server_stream", testSvc, "StreamingOutputCall", "Canceled"): 1,
				series("bidi_stream", testSvc, "FullDuplexCall", "Canceled"):        1,
			},
		},
		{
			name: "deadline exceeded",
			// The deadlines pass once the server has the call (and the
			// stream's client its message), not after a time.
			run: func(t *testing.T, s *stack) {
				ctx := expiring.New(t.Context())
				errc := make(chan error, 1)
				go func() {
					_, err := s.test.UnaryCall(ctx, &testpb.SimpleRequest{Payload: blocking})
					errc <- err
				}()
				<-s.calls.entered
				ctx.Expire()
				require.Equal(t, codes.DeadlineExceeded, code(<-errc))

				ctx = expiring.New(t.Context())
				st, err := s.test.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params(1), Payload: blocking})
				require.NoError(t, err)
				_, err = st.Recv()
				require.NoError(t, err)
				ctx.Expire()
				n, err := drain(st.Recv)
				require.Equal(t, codes.DeadlineExceeded, code(err))
				require.Zero(t, n)
			},
			serverCalls: 2,
			wantServer: map[string]float64{
				series("unary", testSvc, "UnaryCall", "DeadlineExceeded"):                   1,
				series("server_stream", testSvc, "StreamingOutputCall", "DeadlineExceeded"): 1,
			},
			wantClient: map[string]float64{
				series("unary", testSvc, "UnaryCall", "DeadlineExceeded"):                   1,
				series("server_stream", testSvc, "StreamingOutputCall", "DeadlineExceeded"): 1,
			},
		},
	}
}

func unaryCodes() map[string]float64 {
	return map[string]float64{
		series("unary", testSvc, "UnaryCall", "InvalidArgument"):       1,
		series("unary", testSvc, "UnaryCall", "NotFound"):              2,
		series("unary", testSvc, "UnaryCall", "Internal"):              1,
		series("unary", testSvc, "UnaryCall", "Unavailable"):           1,
		series("unary", testSvc, "UnaryCall", "ResourceExhausted"):     1,
		series("unary", testSvc, "UnaryCall", "Unknown"):               1,
		series("unary", testSvc, "UnimplementedCall", "Unimplemented"): 1,
	}
}

// TestCompatibility makes each scenario's calls through grpcmetrics'
// generic mode and through go-grpc-middleware's provider and requires the
// same exposition from both, grpcmetrics' response_failed families and the
// documented panic difference aside (both asserted exactly).
func TestCompatibility(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			ours, theirs := prometheus.NewRegistry(), prometheus.NewRegistry()
			g := startStack(t, grpcmetricsUnderTest(t, ours))
			p := startStack(t, providerUnderTest(t, theirs, false))
			for _, s := range []*stack{g, p} {
				sc.run(t, s)
				s.waitServer(t, sc.serverCalls)
			}
			eg, ep := gather(t, ours), gather(t, theirs)

			// grpcmetrics' counts, exactly: the comparison below
			// then holds the provider to them too.
			assert.Equal(t, orEmpty(sc.wantServer), eg.values(serverHandled, true), serverHandled)
			assert.Equal(t, orEmpty(sc.wantClient), eg.values(clientHandled, true), clientHandled)
			assertResponseFailed(t, eg, sc.wantServerFailed, sc.wantClientFailed)
			assertPanicDifference(t, eg, ep, sc.panicked)

			assertSame(t, ep, eg)
		})
	}
}

// TestCompatibilityInitialSeries compares grpcmetrics' WithInitialSeries
// with the provider's InitializeMetrics: every registered method's series
// at zero, and one call on top.
func TestCompatibilityInitialSeries(t *testing.T) {
	ours, theirs := prometheus.NewRegistry(), prometheus.NewRegistry()
	g := startStack(t, grpcmetricsUnderTest(t, ours, interceptor.WithInitialSeries()))
	p := startStack(t, providerUnderTest(t, theirs, true))
	for _, s := range []*stack{g, p} {
		_, err := s.test.UnaryCall(t.Context(), &testpb.SimpleRequest{})
		require.NoError(t, err)
		s.waitServer(t, 1)
	}
	eg, ep := gather(t, ours), gather(t, theirs)
	methods := len(testpb.TestService_ServiceDesc.Methods) + len(testpb.TestService_ServiceDesc.Streams) +
		len(milvuspb.MilvusService_ServiceDesc.Methods) + len(milvuspb.MilvusService_ServiceDesc.Streams)
	require.Len(t, ep[serverHandled].Series, 17*methods, "the provider starts 17 handled series per registered method")
	zeros := map[string]float64{}
	for k, v := range eg.values(serverFailed, false) {
		require.Zero(t, v, k)
		zeros[k] = v
	}
	require.Len(t, zeros, methods, "one response_failed series per registered method")
	delete(eg, serverFailed)
	assertSame(t, ep, eg)
}

func orEmpty(m map[string]float64) map[string]float64 {
	if m == nil {
		return map[string]float64{}
	}
	return m
}

// assertResponseFailed checks grpcmetrics' response_failed families, which
// the provider does not have, and removes them from e.
func assertResponseFailed(t *testing.T, e exposition, server, client map[string]float64) {
	t.Helper()
	for _, c := range []struct {
		name string
		want map[string]float64
	}{{serverFailed, server}, {clientFailed, client}} {
		assert.Equal(t, orEmpty(c.want), e.values(c.name, false), c.name)
		delete(e, c.name)
	}
}

// assertPanicDifference checks the documented difference on panics and
// removes it from ours: for each panicked call, grpcmetrics has one more
// handled{grpc_code="Unknown"} and one more histogram sample than the
// provider, which has no handled series and no histogram series for it.
func assertPanicDifference(t *testing.T, ours, theirs exposition, panicked []method) {
	t.Helper()
	n := map[method]float64{}
	for _, m := range panicked {
		n[m]++
	}
	for m, count := range n {
		key := series(m.typ, m.service, m.name)
		unknown := series(m.typ, m.service, m.name, "Unknown")
		assert.Equal(t, count, ours.take(t, serverHandled, unknown).Value, "grpcmetrics counts a panic as handled Unknown")
		assert.Equal(t, count, ours.take(t, serverHandling, key).Value, "grpcmetrics observes a panicked call's time")
		assert.NotContains(t, theirs[serverHandled].Series, unknown, "the provider never counts a panicked call as handled")
		assert.NotContains(t, theirs[serverHandling].Series, key, "the provider observes no time for a panicked call")
	}
}

// assertSame requires the two expositions to match, once ours has given up
// grpcmetrics_server_calls_before_init_total, which the provider does not
// have and which must read 0: every stack calls Init before serving.
func assertSame(t *testing.T, theirs, ours exposition) {
	t.Helper()
	assert.Equal(t, 0.0, ours.take(t, serverBeforeInit, "").Value, serverBeforeInit)
	d := diff(theirs, ours)
	assert.Empty(t, d, "the expositions differ:\n%s", strings.Join(d, "\n"))
}

// TestCompatibilityCodeOutOfRange checks a documented difference: a status
// code beyond Unauthenticated (16), which gRPC carries as is, is labelled
// grpc_code="Unknown" by grpcmetrics, which keeps the label's values
// bounded, and "Code(<n>)" by the provider. Apart from that label value the
// expositions match.
func TestCompatibilityCodeOutOfRange(t *testing.T) {
	const outOfRange = codes.Code(42)
	ours, theirs := prometheus.NewRegistry(), prometheus.NewRegistry()
	g := startStack(t, grpcmetricsUnderTest(t, ours))
	p := startStack(t, providerUnderTest(t, theirs, false))
	for _, s := range []*stack{g, p} {
		_, err := s.test.UnaryCall(t.Context(), &testpb.SimpleRequest{ResponseStatus: echo(outOfRange)})
		require.Equal(t, outOfRange, code(err), "gRPC carries the code as is")
		s.waitServer(t, 1)
	}
	eg, ep := gather(t, ours), gather(t, theirs)
	for _, name := range []string{serverHandled, clientHandled} {
		unknown := series("unary", testSvc, "UnaryCall", "Unknown")
		raw := series("unary", testSvc, "UnaryCall", outOfRange.String())
		require.Equal(t, "Code(42)", outOfRange.String())
		assert.Equal(t, map[string]float64{unknown: 1}, eg.values(name, false), "grpcmetrics: %s", name)
		assert.Equal(t, map[string]float64{raw: 1}, ep.values(name, false), "provider: %s", name)
		f := ep[name]
		f.Series[unknown] = f.Series[raw]
		delete(f.Series, raw)
	}
	assertResponseFailed(t, eg, nil, nil)
	assertSame(t, ep, eg)
}
