package a66

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats/opentelemetry"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/internal/expiring"
)

// arService answers grpc-go's interop TestService: UnaryCall fails with the
// requested status code (0: success), fails its first "retry" request with
// UNAVAILABLE, and waits for its context on "wait"; StreamingOutputCall
// sends one response per response parameter, each with a body of the
// requested size, then ends with the requested code; StreamingInputCall
// counts; FullDuplexCall echoes.
type arService struct {
	testpb.UnimplementedTestServiceServer
	retried atomic.Bool
	// waiting, if not nil, is told when a "wait" call has reached the
	// handler.
	waiting chan struct{}
}

func (s *arService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	switch string(req.GetPayload().GetBody()) {
	case "retry":
		if !s.retried.Swap(true) {
			return nil, status.Error(codes.Unavailable, "try again")
		}
	case "wait":
		select {
		case s.waiting <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if c := req.GetResponseStatus().GetCode(); c != 0 {
		return nil, status.Error(codes.Code(c), "requested")
	}
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: make([]byte, req.GetResponseSize())}}, nil
}

func (*arService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	for _, p := range req.GetResponseParameters() {
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: make([]byte, p.GetSize())}}); err != nil {
			return err
		}
	}
	if c := req.GetResponseStatus().GetCode(); c != 0 {
		return status.Error(codes.Code(c), "requested")
	}
	return nil
}

func (*arService) StreamingInputCall(ss grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	n := 0
	for {
		req, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return ss.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(n)})
		}
		if err != nil {
			return err
		}
		n += len(req.GetPayload().GetBody())
	}
}

func (*arService) FullDuplexCall(ss grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
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

// arRetryConfig retries UnaryCall once on UNAVAILABLE.
const arRetryConfig = `{"methodConfig": [{
  "name": [{"service": "grpc.testing.TestService", "method": "UnaryCall"}],
  "retryPolicy": {"maxAttempts": 2, "initialBackoff": "0.001s", "maxBackoff": "0.001s",
    "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`

// arPlugin is grpc-go's OpenTelemetry plugin under its default options,
// exported by OpenTelemetry's Prometheus exporter into a registry of its
// own.
type arPlugin struct {
	reg *prometheus.Registry
	mp  *sdkmetric.MeterProvider
}

func newArPlugin(t testing.TB) *arPlugin {
	t.Helper()
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	require.NoError(t, err)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t.Cleanup(func() { require.NoError(t, mp.Shutdown(context.Background())) })
	return &arPlugin{reg: reg, mp: mp}
}

func (p *arPlugin) options() opentelemetry.Options {
	return opentelemetry.Options{MetricsOptions: opentelemetry.MetricsOptions{MeterProvider: p.mp}}
}

// ServerOption installs the plugin on a server.
func (p *arPlugin) ServerOption() grpc.ServerOption { return opentelemetry.ServerOption(p.options()) }

// DialOption installs the plugin on a connection.
func (p *arPlugin) DialOption() grpc.DialOption { return opentelemetry.DialOption(p.options()) }

// arStack is a TestService server and a connection to it over bufconn,
// with the given options on each side.
type arStack struct {
	srv  *grpc.Server
	conn *grpc.ClientConn
	lis  *bufconn.Listener
	svc  *arService
}

// newArStack builds the server (its services registered, then init called
// with it, before serving) and the connection, with the retry policy.
func newArStack(t testing.TB, init func(*grpc.Server), sopts []grpc.ServerOption, dopts []grpc.DialOption) *arStack {
	t.Helper()
	s := &arStack{srv: grpc.NewServer(sopts...), lis: bufconn.Listen(1 << 20), svc: &arService{waiting: make(chan struct{}, 1)}}
	testpb.RegisterTestServiceServer(s.srv, s.svc)
	if init != nil {
		init(s.srv)
	}
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(s.lis) }()
	t.Cleanup(func() {
		s.srv.Stop()
		require.NoError(t, <-served)
	})
	conn, err := grpc.NewClient("passthrough:///bufnet", append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(arRetryConfig),
	}, dopts...)...)
	require.NoError(t, err)
	s.conn = conn
	return s
}

// stop closes the connection and stops the server gracefully, so that every
// call's End has been recorded on both sides.
func (s *arStack) stop(t testing.TB) {
	t.Helper()
	require.NoError(t, s.conn.Close())
	s.srv.GracefulStop()
}

// arRaw is a codec that sends its bytes as they are: a request the server
// cannot decode.
type arRaw struct{}

func (arRaw) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("arRaw marshals *[]byte, not %T", v)
	}
	return *b, nil
}

func (arRaw) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("arRaw unmarshals into *[]byte, not %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (arRaw) Name() string { return "proto" }

// arDrive sends the scenario's calls on s and checks each call's status:
// unary successes and failures, a retried call, server, client and
// bidirectional streams (one failing, one cancelled by the client), a
// method of no service and an unknown method of a known service, a request
// that fails to decode, a deadline that expires in the handler, and a call
// whose context is cancelled before it starts.
func arDrive(t *testing.T, s *arStack) {
	t.Helper()
	conn := s.conn
	ctx := t.Context()
	c := testpb.NewTestServiceClient(conn)
	unary := func(body string, code codes.Code, respSize int32) error {
		_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{
			Payload:        &testpb.Payload{Body: []byte(body)},
			ResponseSize:   respSize,
			ResponseStatus: &testpb.EchoStatus{Code: int32(code)},
		})
		return err
	}
	for i := range 3 {
		require.NoError(t, unary("hello", codes.OK, int32(100*i)))
	}
	require.Equal(t, codes.InvalidArgument, status.Code(unary("x", codes.InvalidArgument, 0)))
	require.Equal(t, codes.NotFound, status.Code(unary("", codes.NotFound, 0)))
	require.NoError(t, unary("retry", codes.OK, 10), "the retry policy retries the first UNAVAILABLE")

	// Server streams: one succeeds with three messages, one fails after two.
	for _, tc := range []struct {
		sizes []int32
		code  codes.Code
	}{{[]int32{1, 2000, 30}, codes.OK}, {[]int32{5, 5}, codes.FailedPrecondition}} {
		req := &testpb.StreamingOutputCallRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(tc.code)}}
		for _, n := range tc.sizes {
			req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: n})
		}
		ss, err := c.StreamingOutputCall(ctx, req)
		require.NoError(t, err)
		got := 0
		for {
			_, err = ss.Recv()
			if err != nil {
				break
			}
			got++
		}
		require.Len(t, tc.sizes, got)
		if tc.code == codes.OK {
			require.ErrorIs(t, err, io.EOF)
		} else {
			require.Equal(t, tc.code, status.Code(err))
		}
	}

	// A client stream of four requests.
	cs, err := c.StreamingInputCall(ctx)
	require.NoError(t, err)
	for i := range 4 {
		require.NoError(t, cs.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, 10*i)}}))
	}
	resp, err := cs.CloseAndRecv()
	require.NoError(t, err)
	require.EqualValues(t, 60, resp.GetAggregatedPayloadSize())

	// A bidirectional stream of two messages each way.
	bs, err := c.FullDuplexCall(ctx)
	require.NoError(t, err)
	for _, body := range []string{"ping", "a longer ping"} {
		require.NoError(t, bs.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(body)}}))
		_, err := bs.Recv()
		require.NoError(t, err)
	}
	require.NoError(t, bs.CloseSend())
	_, err = bs.Recv()
	require.ErrorIs(t, err, io.EOF)

	// A bidirectional stream the client cancels after one exchange.
	sctx, scancel := context.WithCancel(ctx)
	cbs, err := c.FullDuplexCall(sctx)
	require.NoError(t, err)
	require.NoError(t, cbs.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("bye")}}))
	_, err = cbs.Recv()
	require.NoError(t, err)
	scancel()
	_, err = cbs.Recv()
	require.Equal(t, codes.Canceled, status.Code(err))

	// Methods no service has: the plugin's server writes "other"; without
	// grpc.StaticMethod its client writes "other" too.
	for _, m := range []string{"/grpc.testing.NoSuchService/Call", "/grpc.testing.TestService/NoSuchMethod"} {
		err := conn.Invoke(ctx, m, &testpb.Empty{}, &testpb.Empty{})
		require.Equal(t, codes.Unimplemented, status.Code(err), m)
	}

	// A request the server cannot decode (a truncated varint), sent as a
	// generated stub would (grpc.StaticMethod): INTERNAL before the handler.
	bad, reply := []byte{0xff}, []byte(nil)
	err = conn.Invoke(ctx, testpb.TestService_UnaryCall_FullMethodName, &bad, &reply, grpc.ForceCodec(arRaw{}), grpc.StaticMethod())
	require.Equal(t, codes.Internal, status.Code(err), "%v", err)

	// A deadline that passes while the handler waits: once the handler has
	// the call, not after a time.
	dctx := expiring.New(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := c.UnaryCall(dctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("wait")}})
		errc <- err
	}()
	<-s.svc.waiting
	dctx.Expire()
	require.Equal(t, codes.DeadlineExceeded, status.Code(<-errc))

	// A call whose context is cancelled before it starts: no attempt.
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	_, err = c.UnaryCall(cctx, &testpb.SimpleRequest{})
	require.Equal(t, codes.Canceled, status.Code(err))
}

// TestArPluginScenario pins what the plugin counts for the scenario, as
// counts per series: the reference every comparison with ours rests on.
func TestArPluginScenario(t *testing.T) {
	p := newArPlugin(t)
	s := newArStack(t, nil, []grpc.ServerOption{p.ServerOption()}, []grpc.DialOption{p.DialOption()})
	arDrive(t, s)
	s.stop(t)

	const (
		svc    = "grpc.testing.TestService/"
		target = `grpc_target="passthrough:///bufnet"`
	)
	server := func(m, code string) string { return fmt.Sprintf(`grpc_method=%q,grpc_status=%q`, m, code) }
	client := func(m, code string) string {
		return fmt.Sprintf(`grpc_method=%q,grpc_status=%q,%s`, m, code, target)
	}
	want := map[string]float64{
		`grpc_server_call_started_total{grpc_method="grpc.testing.TestService/UnaryCall"}`:           9,
		`grpc_server_call_started_total{grpc_method="grpc.testing.TestService/StreamingOutputCall"}`: 2,
		`grpc_server_call_started_total{grpc_method="grpc.testing.TestService/StreamingInputCall"}`:  1,
		`grpc_server_call_started_total{grpc_method="grpc.testing.TestService/FullDuplexCall"}`:      2,
		`grpc_server_call_started_total{grpc_method="other"}`:                                        2,

		`grpc_client_attempt_started_total{grpc_method="grpc.testing.TestService/UnaryCall",` + target + `}`:           9,
		`grpc_client_attempt_started_total{grpc_method="grpc.testing.TestService/StreamingOutputCall",` + target + `}`: 2,
		`grpc_client_attempt_started_total{grpc_method="grpc.testing.TestService/StreamingInputCall",` + target + `}`:  1,
		`grpc_client_attempt_started_total{grpc_method="grpc.testing.TestService/FullDuplexCall",` + target + `}`:      2,
		`grpc_client_attempt_started_total{grpc_method="other",` + target + `}`:                                        2,
	}
	serverEnds := map[string]float64{ // the server's ends: every family with grpc_status
		server(svc+"UnaryCall", "OK"):                            4,
		server(svc+"UnaryCall", "INVALID_ARGUMENT"):              1,
		server(svc+"UnaryCall", "NOT_FOUND"):                     1,
		server(svc+"UnaryCall", "UNAVAILABLE"):                   1,
		server(svc+"UnaryCall", "INTERNAL"):                      1,
		server(svc+"UnaryCall", "CANCELLED"):                     1, // the deadline that passed: the client's reset (see arDrive)
		server(svc+"StreamingOutputCall", "OK"):                  1,
		server(svc+"StreamingOutputCall", "FAILED_PRECONDITION"): 1,
		server(svc+"StreamingInputCall", "OK"):                   1,
		server(svc+"FullDuplexCall", "OK"):                       1,
		server(svc+"FullDuplexCall", "CANCELLED"):                1,
	}
	attemptEnds := map[string]float64{
		client(svc+"UnaryCall", "OK"):                            4,
		client(svc+"UnaryCall", "INVALID_ARGUMENT"):              1,
		client(svc+"UnaryCall", "NOT_FOUND"):                     1,
		client(svc+"UnaryCall", "UNAVAILABLE"):                   1,
		client(svc+"UnaryCall", "INTERNAL"):                      1,
		client(svc+"UnaryCall", "DEADLINE_EXCEEDED"):             1,
		client(svc+"StreamingOutputCall", "OK"):                  1,
		client(svc+"StreamingOutputCall", "FAILED_PRECONDITION"): 1,
		client(svc+"StreamingInputCall", "OK"):                   1,
		client(svc+"FullDuplexCall", "OK"):                       1,
		client(svc+"FullDuplexCall", "CANCELLED"):                1,
		client("other", "UNIMPLEMENTED"):                         2,
	}
	callEnds := map[string]float64{}
	for k, v := range attemptEnds {
		callEnds[k] = v
	}
	callEnds[client(svc+"UnaryCall", "OK")] = 3 + 1 // the retried call is one call of two attempts
	delete(callEnds, client(svc+"UnaryCall", "UNAVAILABLE"))
	callEnds[client(svc+"UnaryCall", "CANCELLED")] = 1 // no attempt: cancelled before it started
	for _, f := range []string{"grpc_server_call_duration_seconds", "grpc_server_call_sent_total_compressed_message_size_bytes", "grpc_server_call_rcvd_total_compressed_message_size_bytes"} {
		for k, v := range serverEnds {
			want[f+"{"+k+"}"] = v
		}
	}
	for _, f := range []string{"grpc_client_attempt_duration_seconds", "grpc_client_attempt_sent_total_compressed_message_size_bytes", "grpc_client_attempt_rcvd_total_compressed_message_size_bytes"} {
		for k, v := range attemptEnds {
			want[f+"{"+k+"}"] = v
		}
	}
	for k, v := range callEnds {
		want["grpc_client_call_duration_seconds{"+k+"}"] = v
	}
	got := arGather(t, p.reg).arCounts()
	// An attempt of a method the server does not have sometimes ends, in
	// grpc-go's End event, without error while its call returns
	// UNIMPLEMENTED: when the server's answer arrives before the request is
	// sent, SendMsg sees io.EOF, and clientStream.retryLocked finishes the
	// attempt with that io.EOF, which csAttempt.finish takes for a success
	// (grpc-go v1.85.0, stream.go). Both handlers see the same End; here it
	// is folded into the status the call returned.
	for _, f := range []string{"grpc_client_attempt_duration_seconds", "grpc_client_attempt_sent_total_compressed_message_size_bytes", "grpc_client_attempt_rcvd_total_compressed_message_size_bytes"} {
		ok := f + "{" + client("other", "OK") + "}"
		if v, found := got[ok]; found {
			delete(got, ok)
			got[f+"{"+client("other", "UNIMPLEMENTED")+"}"] += v
		}
	}
	require.Equal(t, want, got)
}
