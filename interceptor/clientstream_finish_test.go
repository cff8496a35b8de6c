package interceptor_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// stService is the server side of the client stream tests, a
// grpc_testing TestService: StreamingOutputCall sends one message per
// response parameter, then waits for its context when the payload is
// "wait", else ends with the requested status; the other streams echo
// until the client closes its side.
type stService struct {
	testpb.UnimplementedTestServiceServer
}

func (stService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	for range req.GetResponseParameters() {
		if err := ss.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	if string(req.GetPayload().GetBody()) == "wait" {
		<-ss.Context().Done()
		return grpcstatus.FromContextError(ss.Context().Err()).Err()
	}
	return grpcstatus.Error(codes.Code(req.GetResponseStatus().GetCode()), req.GetResponseStatus().GetMessage())
}

func (stService) StreamingInputCall(ss grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	for {
		if _, err := ss.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return ss.SendAndClose(&testpb.StreamingInputCallResponse{})
			}
			return err
		}
	}
}

func (stService) FullDuplexCall(ss grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		if _, err := ss.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
}

// stClientStack is a bufconn server of stService and a client connection
// to it counted by ClientMetrics, registered on reg.
type stClientStack struct {
	reg    *prometheus.Registry
	conn   *grpc.ClientConn
	client testpb.TestServiceClient
}

// stNewClientStack starts an stClientStack. inner are stream interceptors
// placed inside ClientMetrics'; opts are more dial options.
func stNewClientStack(t *testing.T, inner []grpc.StreamClientInterceptor, opts ...grpc.DialOption) *stClientStack {
	t.Helper()
	cm, err := interceptor.LegacyClientMetrics()
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, cm.Register(reg))

	srv := grpc.NewServer()
	testpb.RegisterTestServiceServer(srv, stService{})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }() //nolint:errcheck // Stop ends it
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient("passthrough:///bufconn", append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainStreamInterceptor(append([]grpc.StreamClientInterceptor{cm.StreamClientInterceptor()}, inner...)...),
	}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() }) //nolint:errcheck // some tests close it first
	return &stClientStack{reg: reg, conn: conn, client: testpb.NewTestServiceClient(conn)}
}

// stCounts returns what reg holds for the client method of grpc_type typ:
// started, and handled by grpc_code (codes with no series are absent).
func stCounts(t *testing.T, reg prometheus.Gatherer, typ, method string) (started float64, handled map[string]float64) {
	t.Helper()
	return stSideCounts(t, reg, "client", typ, method)
}

// stSideCounts is stCounts for side "client" or "server".
func stSideCounts(t *testing.T, reg prometheus.Gatherer, side, typ, method string) (started float64, handled map[string]float64) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	handled = map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["grpc_type"] != typ || l["grpc_method"] != method {
				continue
			}
			switch mf.GetName() {
			case "grpc_" + side + "_started_total":
				started += m.GetCounter().GetValue()
			case "grpc_" + side + "_handled_total":
				handled[l["grpc_code"]] += m.GetCounter().GetValue()
			}
		}
	}
	return started, handled
}

// stRequireHandledOnce waits until the method's one started stream is
// handled, then checks that it is handled exactly once, with code want.
func stRequireHandledOnce(t *testing.T, reg prometheus.Gatherer, typ, method string, want codes.Code) {
	t.Helper()
	started, handled := stCounts(t, reg, typ, method)
	for deadline := time.Now().Add(2 * time.Second); len(handled) == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		started, handled = stCounts(t, reg, typ, method)
	}
	if len(handled) > 0 {
		// Let a second, wrong count show up if there is one.
		time.Sleep(20 * time.Millisecond)
		started, handled = stCounts(t, reg, typ, method)
	}
	assert.Equal(t, 1.0, started, "started")
	assert.Equal(t, map[string]float64{want.String(): 1}, handled, "handled, by grpc_code, 2 s after the stream ended")
}

// TestStClientStreamCancelledAfterRecvIsHandled is a server-streaming call
// whose caller receives one message, then cancels its context and calls
// RecvMsg no more: the stream is handled, Canceled, once.
func TestStClientStreamCancelledAfterRecvIsHandled(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *stClientStack, ctx context.Context, cancel context.CancelFunc) (typ, method string)
	}{
		{"server stream, one Recv", func(t *testing.T, s *stClientStack, ctx context.Context, cancel context.CancelFunc) (string, string) {
			stream, err := s.client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{
				ResponseParameters: []*testpb.ResponseParameters{{}},
				Payload:            &testpb.Payload{Body: []byte("wait")},
			})
			require.NoError(t, err)
			_, err = stream.Recv()
			require.NoError(t, err)
			cancel()
			return interceptor.ServerStream, "StreamingOutputCall"
		}},
		{"bidi stream, no Recv", func(t *testing.T, s *stClientStack, ctx context.Context, cancel context.CancelFunc) (string, string) {
			stream, err := s.client.FullDuplexCall(ctx)
			require.NoError(t, err)
			require.NoError(t, stream.Send(&testpb.StreamingOutputCallRequest{}))
			cancel()
			return interceptor.BidiStream, "FullDuplexCall"
		}},
		{"client stream, no CloseAndRecv", func(t *testing.T, s *stClientStack, ctx context.Context, cancel context.CancelFunc) (string, string) {
			stream, err := s.client.StreamingInputCall(ctx)
			require.NoError(t, err)
			require.NoError(t, stream.Send(&testpb.StreamingInputCallRequest{}))
			cancel()
			return interceptor.ClientStream, "StreamingInputCall"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stNewClientStack(t, nil)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			typ, method := tt.run(t, s, ctx, cancel)
			stRequireHandledOnce(t, s.reg, typ, method, codes.Canceled)
		})
	}
}

// TestStClientStreamSendFailureIsHandled opens streams whose SendMsg fails
// on the client: a message over MaxCallSendMsgSize, or one with a string
// field that is not valid UTF-8. The stream is handled once, with the code
// the caller got.
func TestStClientStreamSendFailureIsHandled(t *testing.T) {
	big := &testpb.Payload{Body: []byte(strings.Repeat("x", 2048))}
	badUTF8 := &testpb.EchoStatus{Message: "\xff"}
	tests := []struct {
		name string
		// send opens a stream and sends what fails; it returns the error
		// the caller got.
		send   func(ctx context.Context, c testpb.TestServiceClient) error
		typ    string
		method string
		want   codes.Code
	}{
		{"server stream, too large", func(ctx context.Context, c testpb.TestServiceClient) error {
			_, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{Payload: big})
			return err
		}, interceptor.ServerStream, "StreamingOutputCall", codes.ResourceExhausted},
		{"server stream, invalid UTF-8", func(ctx context.Context, c testpb.TestServiceClient) error {
			_, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseStatus: badUTF8})
			return err
		}, interceptor.ServerStream, "StreamingOutputCall", codes.Internal},
		{"bidi stream, too large", func(ctx context.Context, c testpb.TestServiceClient) error {
			stream, err := c.FullDuplexCall(ctx)
			if err != nil {
				return err
			}
			return stream.Send(&testpb.StreamingOutputCallRequest{Payload: big})
		}, interceptor.BidiStream, "FullDuplexCall", codes.ResourceExhausted},
		{"client stream, invalid UTF-8", func(ctx context.Context, c testpb.TestServiceClient) error {
			stream, err := c.StreamingInputCall(ctx)
			if err != nil {
				return err
			}
			if err := stream.Send(&testpb.StreamingInputCallRequest{}); err != nil {
				return err
			}
			return stream.SendMsg(&testpb.StreamingOutputCallRequest{ResponseStatus: badUTF8})
		}, interceptor.ClientStream, "StreamingInputCall", codes.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stNewClientStack(t, nil, grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(1024)))
			err := tt.send(t.Context(), s.client)
			require.Error(t, err)
			require.Equal(t, tt.want, grpcstatus.Code(err), "the caller's code: %v", err)
			// The caller has no stream to read, or stops after the error.
			stRequireHandledOnce(t, s.reg, tt.typ, tt.method, tt.want)
		})
	}
}

// stFakeStream is a client stream that an inner interceptor returns
// without opening one: RecvMsg returns io.EOF.
type stFakeStream struct{ nopClientStream }

func (stFakeStream) RecvMsg(any) error { return io.EOF }

// TestStClientStreamHandledExactlyOnce ends streams every way grpc-go
// and the interceptors inside ClientMetrics can end them, and checks that
// each is handled exactly once, with the code the caller got.
func TestStClientStreamHandledExactlyOnce(t *testing.T) {
	errInner := grpcstatus.Error(codes.PermissionDenied, "inner interceptor refuses")
	refuse := func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, grpc.Streamer, ...grpc.CallOption) (grpc.ClientStream, error) {
		return nil, errInner
	}
	// openThenRefuse opens the stream, then fails without closing it.
	openThenRefuse := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if _, err := streamer(ctx, desc, cc, method, opts...); err != nil {
			return nil, err
		}
		return nil, errInner
	}
	fake := func(ctx context.Context, _ *grpc.StreamDesc, _ *grpc.ClientConn, _ string, _ grpc.Streamer, _ ...grpc.CallOption) (grpc.ClientStream, error) {
		return stFakeStream{nopClientStream{ctx}}, nil
	}
	panics := func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, grpc.Streamer, ...grpc.CallOption) (grpc.ClientStream, error) {
		panic("inner interceptor panics")
	}
	const out, outType = "StreamingOutputCall", interceptor.ServerStream
	wait := &testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("wait")}}
	tests := []struct {
		name  string
		inner []grpc.StreamClientInterceptor
		// call runs the stream and returns the error of its end, as the
		// caller sees it.
		call func(t *testing.T, s *stClientStack) error
		want codes.Code
	}{
		{"read to the end", nil, func(t *testing.T, s *stClientStack) error {
			return stDrain(s.client.StreamingOutputCall(t.Context(), &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{}, {}}}))
		}, codes.OK},
		{"read to the end, then cancelled", nil, func(t *testing.T, s *stClientStack) error {
			ctx, cancel := context.WithCancel(t.Context())
			err := stDrain(s.client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{}))
			cancel()
			return err
		}, codes.OK},
		{"server status", nil, func(t *testing.T, s *stClientStack) error {
			return stDrain(s.client.StreamingOutputCall(t.Context(), &testpb.StreamingOutputCallRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound)}}))
		}, codes.NotFound},
		{"deadline", nil, func(t *testing.T, s *stClientStack) error {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			return stDrain(s.client.StreamingOutputCall(ctx, wait))
		}, codes.DeadlineExceeded},
		{"inner interceptor fails without the streamer", []grpc.StreamClientInterceptor{refuse}, func(t *testing.T, s *stClientStack) error {
			_, err := s.client.StreamingOutputCall(t.Context(), wait)
			return err
		}, codes.PermissionDenied},
		{"inner interceptor opens, then fails", []grpc.StreamClientInterceptor{openThenRefuse}, func(t *testing.T, s *stClientStack) error {
			ctx, cancel := context.WithCancel(t.Context())
			_, err := s.client.StreamingOutputCall(ctx, wait)
			cancel() // grpc-go now finishes the stream it opened
			return err
		}, codes.PermissionDenied},
		{"stream creation fails", []grpc.StreamClientInterceptor{openThenRefuse}, func(t *testing.T, s *stClientStack) error {
			ctx := metadata.AppendToOutgoingContext(t.Context(), "bad\nkey", "v")
			_, err := s.client.StreamingOutputCall(ctx, wait)
			return err
		}, codes.Internal},
		{"inner interceptor panics", []grpc.StreamClientInterceptor{panics}, func(t *testing.T, s *stClientStack) error {
			require.PanicsWithValue(t, "inner interceptor panics", func() {
				_, _ = s.client.StreamingOutputCall(t.Context(), wait) //nolint:errcheck // panics
			})
			return grpcstatus.Error(codes.Unknown, "") // what the stream counts as
		}, codes.Unknown},
		{"inner interceptor returns its own stream", []grpc.StreamClientInterceptor{fake}, func(t *testing.T, s *stClientStack) error {
			return stDrain(s.client.StreamingOutputCall(t.Context(), wait))
		}, codes.OK},
		{"connection closed before the call", nil, func(t *testing.T, s *stClientStack) error {
			require.NoError(t, s.conn.Close())
			_, err := s.client.StreamingOutputCall(t.Context(), wait)
			return err
		}, codes.Canceled},
		{"abandoned, then the connection closes", nil, func(t *testing.T, s *stClientStack) error {
			stream, err := s.client.StreamingOutputCall(t.Context(), &testpb.StreamingOutputCallRequest{
				ResponseParameters: []*testpb.ResponseParameters{{}},
				Payload:            &testpb.Payload{Body: []byte("wait")},
			})
			require.NoError(t, err)
			_, err = stream.Recv()
			require.NoError(t, err)
			require.NoError(t, s.conn.Close())
			return grpcstatus.Error(codes.Canceled, "") // what grpc-go ends it with
		}, codes.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stNewClientStack(t, tt.inner)
			err := tt.call(t, s)
			require.Equal(t, tt.want, grpcstatus.Code(err), "the caller's code: %v", err)
			stRequireHandledOnce(t, s.reg, outType, out, tt.want)
		})
	}
}

// stDrain receives from stream until it ends and returns the error that
// ended it, nil for io.EOF.
func stDrain(stream grpc.ServerStreamingClient[testpb.StreamingOutputCallResponse], err error) error {
	if err != nil {
		return err
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// TestStClientStreamOpenCost checks what opening a stream costs
// ClientMetrics in allocations: the stream's wrapper and the OnFinish
// callback, and the copy of the call options when there are more than
// three.
func TestStClientStreamOpenCost(t *testing.T) {
	cm, err := interceptor.LegacyClientMetrics()
	require.NoError(t, err)
	desc := &grpc.StreamDesc{StreamName: "Chat", ClientStreams: true, ServerStreams: true}
	var inner grpc.ClientStream = nopClientStream{t.Context()}
	var finish func(error)
	streamer := func(_ context.Context, _ *grpc.StreamDesc, _ *grpc.ClientConn, _ string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		for _, o := range opts {
			if f, ok := o.(grpc.OnFinishCallOption); ok {
				finish = f.OnFinish
			}
		}
		return inner, nil
	}
	icpt := cm.StreamClientInterceptor()
	ctx := t.Context()
	opt := grpc.MaxCallSendMsgSize(1 << 20)
	tests := []struct {
		opts []grpc.CallOption
		want float64
	}{
		{nil, 2},
		{[]grpc.CallOption{opt, opt, opt}, 2},
		{[]grpc.CallOption{opt, opt, opt, opt}, 3},
	}
	for _, tt := range tests {
		failed := false
		allocs := testing.AllocsPerRun(100, func() {
			finish = nil
			cs, err := icpt(ctx, desc, nil, chatMethod, streamer, tt.opts...)
			failed = failed || err != nil || cs == nil || finish == nil
			if finish != nil {
				finish(nil)
			}
		})
		require.False(t, failed, "a stream did not open, or had no OnFinish")
		assert.Equal(t, tt.want, allocs, "allocations per stream, %d call options", len(tt.opts))
	}
}
