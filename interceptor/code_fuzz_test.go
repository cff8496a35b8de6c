package interceptor_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

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

// stNilStatusError is an error whose GRPCStatus returns nil; it wraps err.
type stNilStatusError struct {
	msg string
	err error
}

func (e *stNilStatusError) Error() string                  { return "nil status: " + e.msg }
func (e *stNilStatusError) Unwrap() error                  { return e.err }
func (e *stNilStatusError) GRPCStatus() *grpcstatus.Status { return nil }

// stStatusError is an error of its own type that carries status st and
// wraps err.
type stStatusError struct {
	st  *grpcstatus.Status
	err error
}

func (e *stStatusError) Error() string                  { return "custom: " + e.st.Message() }
func (e *stStatusError) Unwrap() error                  { return e.err }
func (e *stStatusError) GRPCStatus() *grpcstatus.Status { return e.st }

// stErrorBuilder builds a handler's error from fuzz input: status errors
// of codes 0 to 20, fmt.Errorf wraps (one %w or two), errors.Join, context
// errors, plain errors, errors whose GRPCStatus is nil, errors of their own
// type with a status of code 1 to 20, nested up to stMaxDepth. It never
// builds an error that carries an OK status (status.Error(codes.OK, …) is
// nil).
type stErrorBuilder struct{ data []byte }

const stMaxDepth = 5

func (b *stErrorBuilder) next() byte {
	if len(b.data) == 0 {
		return 0
	}
	c := b.data[0]
	b.data = b.data[1:]
	return c
}

func (b *stErrorBuilder) msg() string {
	n := min(int(b.next()%8), len(b.data))
	m := string(b.data[:n])
	b.data = b.data[n:]
	return m
}

func (b *stErrorBuilder) build(depth int) error {
	if len(b.data) == 0 {
		return nil
	}
	op := b.next() % 10
	if depth >= stMaxDepth {
		op %= 5 // leaves only
	}
	switch op {
	case 0:
		return grpcstatus.Error(codes.Code(b.next()%21), b.msg())
	case 1:
		return context.Canceled
	case 2:
		return context.DeadlineExceeded
	case 3:
		return errors.New(b.msg())
	case 4:
		return nil
	case 5:
		return fmt.Errorf("%s: %w", b.msg(), b.build(depth+1))
	case 6:
		return errors.Join(b.build(depth+1), b.build(depth+1))
	case 7:
		return fmt.Errorf("%w; %w", b.build(depth+1), b.build(depth+1))
	case 8:
		return &stNilStatusError{msg: b.msg(), err: b.build(depth + 1)}
	default:
		code := codes.Code(1 + b.next()%20)
		return &stStatusError{st: grpcstatus.New(code, b.msg()), err: b.build(depth + 1)}
	}
}

// stCodeService answers UnaryCall and StreamingOutputCall (after one small
// reply per response parameter) with errOf(the request's payload): a
// reply when that is nil.
type stCodeService struct {
	testpb.UnimplementedTestServiceServer
	errOf func(body []byte) error
}

func (s stCodeService) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if err := s.errOf(req.GetPayload().GetBody()); err != nil {
		return nil, err
	}
	return &testpb.SimpleResponse{Username: "ok"}, nil
}

func (s stCodeService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	for range req.GetResponseParameters() {
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: []byte("ok")}}); err != nil {
			return err
		}
	}
	return s.errOf(req.GetPayload().GetBody())
}

// stCodeStack is a bufconn server of stCodeService whose only interceptors
// are ServerMetrics', and a client to it counted by ClientMetrics.
type stCodeStack struct {
	sreg, creg *prometheus.Registry
	client     testpb.TestServiceClient
}

func stNewCodeStack(tb testing.TB, errOf func(body []byte) error) *stCodeStack {
	tb.Helper()
	sm, err := interceptor.LegacyServerMetrics()
	require.NoError(tb, err)
	cm, err := interceptor.LegacyClientMetrics()
	require.NoError(tb, err)
	s := &stCodeStack{sreg: prometheus.NewPedanticRegistry(), creg: prometheus.NewPedanticRegistry()}
	require.NoError(tb, sm.Register(s.sreg))
	require.NoError(tb, cm.Register(s.creg))

	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(sm.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(sm.StreamServerInterceptor()),
	)
	testpb.RegisterTestServiceServer(srv, stCodeService{errOf: errOf})
	require.NoError(tb, sm.Init(srv))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }() //nolint:errcheck // Stop ends it
	tb.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(cm.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(cm.StreamClientInterceptor()),
	)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, conn.Close()) })
	s.client = testpb.NewTestServiceClient(conn)
	return s
}

// stCall is what one call counted on each side, and what its client got.
type stCall struct {
	clientErr             error
	server, clientCounted string // the grpc_code each side counted
}

// call makes one call, unary or server-streaming with replies replies,
// whose handler returns errOf(body), and returns what it counted.
func (s *stCodeStack) call(t *testing.T, stream bool, replies int, body []byte) stCall {
	t.Helper()
	typ, method := interceptor.Unary, "UnaryCall"
	if stream {
		typ, method = interceptor.ServerStream, "StreamingOutputCall"
	}
	_, serverBefore := stSideCounts(t, s.sreg, "server", typ, method)
	_, clientBefore := stSideCounts(t, s.creg, "client", typ, method)
	var res stCall
	if stream {
		res.clientErr = stDrain(s.client.StreamingOutputCall(t.Context(), &testpb.StreamingOutputCallRequest{
			ResponseParameters: make([]*testpb.ResponseParameters, replies),
			Payload:            &testpb.Payload{Body: body},
		}))
	} else {
		_, res.clientErr = s.client.UnaryCall(t.Context(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: body}})
	}
	_, serverAfter := stSideCounts(t, s.sreg, "server", typ, method)
	_, clientAfter := stSideCounts(t, s.creg, "client", typ, method)
	res.server = stOneMore(t, "server", serverBefore, serverAfter)
	res.clientCounted = stOneMore(t, "client", clientBefore, clientAfter)
	return res
}

// stOneMore returns the one grpc_code whose handled count is one more in
// after than in before, and fails unless there is exactly one.
func stOneMore(t *testing.T, side string, before, after map[string]float64) string {
	t.Helper()
	var got []string
	for code, v := range after {
		switch d := v - before[code]; d {
		case 0:
		case 1:
			got = append(got, code)
		default:
			t.Errorf("%s: handled{grpc_code=%q} moved by %v", side, code, d)
		}
	}
	require.Len(t, got, 1, "%s: one call, handled once", side)
	return got[0]
}

// stFold is the grpc_code that the families count code c under: codes
// above Unauthenticated fold to Unknown.
func stFold(c codes.Code) string {
	if c > codes.Unauthenticated {
		return codes.Unknown.String()
	}
	return c.String()
}

// FuzzStCountedCodeIsSent checks, over bufconn, that ServerMetrics counts
// every error a handler returns under the code the client receives, and
// that ClientMetrics counts the same. Codes above Unauthenticated, which
// the families fold to Unknown, are compared folded (and asserted on their
// own in TestStCodesByDesign). The first byte picks unary or
// server-streaming and how many replies the stream sends; the rest builds
// the error (see stErrorBuilder).
func FuzzStCountedCodeIsSent(f *testing.F) {
	s := stNewCodeStack(f, func(body []byte) error {
		b := &stErrorBuilder{data: body}
		return b.build(0)
	})
	// The seed corpus is in testdata/fuzz/FuzzStCountedCodeIsSent.
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 64 {
			t.Skip("out of the domain")
		}
		stream, replies := data[0]%2 == 1, int(data[0]/2%3)
		got := s.call(t, stream, replies, data[1:])
		want := stFold(grpcstatus.Code(got.clientErr))
		assert.Equal(t, want, got.server, "server: counted, and the client received %v", got.clientErr)
		assert.Equal(t, want, got.clientCounted, "client: counted, and the client received %v", got.clientErr)
	})
}

// stByBody is an errOf that returns errs[body].
func stByBody(errs map[string]error) func([]byte) error {
	return func(body []byte) error { return errs[string(body)] }
}

// stServerCodeCases are handler errors and the code grpc-go sends for
// each, the one a client receives.
var stServerCodeCases = []struct {
	name string
	err  error
	want codes.Code
}{
	{"nil", nil, codes.OK},
	{"status", grpcstatus.Error(codes.NotFound, "x"), codes.NotFound},
	{"wrapped status", fmt.Errorf("op: %w", grpcstatus.Error(codes.Aborted, "x")), codes.Aborted},
	{"status of its own type", &stStatusError{st: grpcstatus.New(codes.Unavailable, "x")}, codes.Unavailable},
	{"canceled", context.Canceled, codes.Canceled},
	{"wrapped deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
	{"plain", errors.New("x"), codes.Unknown},
	{"GRPCStatus nil", &stNilStatusError{msg: "x"}, codes.Unknown},
	{"GRPCStatus nil, wrapped", fmt.Errorf("op: %w", &stNilStatusError{msg: "x"}), codes.Unknown},
	{"GRPCStatus nil, wrapping canceled", &stNilStatusError{msg: "x", err: context.Canceled}, codes.Canceled},
	{"GRPCStatus nil, wrapping a status", &stNilStatusError{msg: "x", err: grpcstatus.Error(codes.NotFound, "x")}, codes.Unknown},
	{"status joined with canceled", errors.Join(grpcstatus.Error(codes.NotFound, "x"), context.Canceled), codes.NotFound},
	{"canceled joined with a status", errors.Join(context.Canceled, grpcstatus.Error(codes.NotFound, "x")), codes.NotFound},
	{"status and deadline, two %w", fmt.Errorf("%w: %w", context.DeadlineExceeded, grpcstatus.Error(codes.Internal, "x")), codes.Internal},
	{"canceled joined with deadline", errors.Join(context.Canceled, context.DeadlineExceeded), codes.DeadlineExceeded},
	{"status wrapping canceled", &stStatusError{st: grpcstatus.New(codes.DataLoss, "x"), err: context.Canceled}, codes.DataLoss},
}

// TestStServerCountsTheCodeGRPCSends returns each of stServerCodeCases
// from a unary handler and from a streaming one, over bufconn, and checks
// that ServerMetrics counts the code the client receives, and that
// ClientMetrics counts the same.
func TestStServerCountsTheCodeGRPCSends(t *testing.T) {
	errs := map[string]error{}
	for _, tt := range stServerCodeCases {
		errs[tt.name] = tt.err
	}
	s := stNewCodeStack(t, stByBody(errs))
	for _, tt := range stServerCodeCases {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				got := s.call(t, stream, 1, []byte(tt.name))
				require.Equal(t, tt.want, grpcstatus.Code(got.clientErr), "the client receives: %v", got.clientErr)
				assert.Equal(t, tt.want.String(), got.server, "server counted")
				assert.Equal(t, tt.want.String(), got.clientCounted, "client counted")
			})
		}
	}
}

// TestStCodesByDesign covers the handler errors whose count differs from
// what the client sees, by design: an error that carries an OK status
// (grpc-go sends OK; a unary client, which then has no reply, sees
// Internal), and codes above Unauthenticated (sent as they are; the
// families count them as Unknown).
func TestStCodesByDesign(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		stream bool
		// what the client sees, and what each side counts
		clientSees            codes.Code
		server, clientCounted codes.Code
	}{
		{"OK status, unary", &stStatusError{st: grpcstatus.New(codes.OK, "fine")}, false, codes.Internal, codes.OK, codes.Internal},
		{"OK status, stream", &stStatusError{st: grpcstatus.New(codes.OK, "fine")}, true, codes.OK, codes.OK, codes.OK},
		{"wrapped OK status, unary", fmt.Errorf("op: %w", &stStatusError{st: grpcstatus.New(codes.OK, "fine")}), false, codes.Internal, codes.OK, codes.Internal},
		{"code 17, unary", grpcstatus.Error(17, "x"), false, 17, codes.Unknown, codes.Unknown},
		{"code 17, stream", grpcstatus.Error(17, "x"), true, 17, codes.Unknown, codes.Unknown},
		{"wrapped code 20, unary", fmt.Errorf("op: %w", grpcstatus.Error(20, "x")), false, 20, codes.Unknown, codes.Unknown},
		{"code 1000, stream", &stStatusError{st: grpcstatus.New(1000, "x")}, true, 1000, codes.Unknown, codes.Unknown},
	}
	errs := map[string]error{}
	for _, tt := range tests {
		errs[tt.name] = tt.err
	}
	s := stNewCodeStack(t, stByBody(errs))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.call(t, tt.stream, 0, []byte(tt.name))
			assert.Equal(t, tt.clientSees, grpcstatus.Code(got.clientErr), "the client sees: %v", got.clientErr)
			assert.Equal(t, tt.server.String(), got.server, "server counted")
			assert.Equal(t, tt.clientCounted.String(), got.clientCounted, "client counted")
		})
	}
}

// TestStCodeDerivationAllocatesNothing checks that counting a call that
// ends with each of stServerCodeCases allocates nothing, on the server and
// on the client.
func TestStCodeDerivationAllocatesNothing(t *testing.T) {
	sm, err := interceptor.LegacyServerMetrics()
	require.NoError(t, err)
	cm, err := interceptor.LegacyClientMetrics()
	require.NoError(t, err)
	srv := sm.UnaryServerInterceptor()
	cli := cm.UnaryClientInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/a.S/M"}
	ctx := t.Context()
	for _, tt := range stServerCodeCases {
		t.Run(tt.name, func(t *testing.T) {
			handler := func(context.Context, any) (any, error) { return nil, tt.err }
			invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return tt.err }
			_, _ = srv(ctx, nil, info, handler)            //nolint:errcheck // warm
			_ = cli(ctx, "/a.S/M", nil, nil, nil, invoker) //nolint:errcheck // warm
			assert.Zero(t, testing.AllocsPerRun(100, func() {
				_, _ = srv(ctx, nil, info, handler) //nolint:errcheck // measured
			}), "server")
			assert.Zero(t, testing.AllocsPerRun(100, func() {
				_ = cli(ctx, "/a.S/M", nil, nil, nil, invoker) //nolint:errcheck // measured
			}), "client")
		})
	}
}
