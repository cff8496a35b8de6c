package grpcmetrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// testService answers the grpc_testing TestService: UnaryCall fails with
// the requested status code (0: success), panics for the payload "panic",
// and waits for its context for the payload "wait"; the streams echo.
type testService struct {
	testpb.UnimplementedTestServiceServer
}

func (testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	switch string(req.GetPayload().GetBody()) {
	case "panic":
		panic("handler panic")
	case "wait":
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if c := req.GetResponseStatus().GetCode(); c != 0 {
		return nil, status.Error(codes.Code(c), "requested")
	}
	return &testpb.SimpleResponse{}, nil
}

func (testService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	for range req.GetResponseParameters() {
		if err := ss.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	if c := req.GetResponseStatus().GetCode(); c != 0 {
		return status.Error(codes.Code(c), "requested")
	}
	return nil
}

func (testService) StreamingInputCall(ss grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	n := 0
	for {
		_, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return ss.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(n)})
		}
		if err != nil {
			return err
		}
		n++
	}
}

func (testService) FullDuplexCall(ss grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		_, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err // a cancelled client ends the stream with Canceled
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
}

// genericStack is a server counted by ServerMetrics, with health and
// reflection skipped through go-grpc-middleware's selector, and a client
// counted by ClientMetrics, over bufconn.
type genericStack struct {
	serverReg, clientReg *prometheus.Registry
	conn                 *grpc.ClientConn
	srv                  *grpc.Server
}

// notHealthOrReflection is the selector's rule: everything but the health
// and reflection services is counted.
func notHealthOrReflection(_ context.Context, c interceptors.CallMeta) bool {
	return c.Service != healthpb.Health_ServiceDesc.ServiceName &&
		c.Service != "grpc.reflection.v1.ServerReflection" &&
		c.Service != "grpc.reflection.v1alpha.ServerReflection"
}

func newGenericStack(t *testing.T) *genericStack {
	t.Helper()
	s := &genericStack{serverReg: prometheus.NewPedanticRegistry(), clientReg: prometheus.NewPedanticRegistry()}
	sm, err := interceptor.NewServerMetrics()
	require.NoError(t, err)
	server, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm}, interceptor.WithHistogram(interceptor.Histogram{}))
	require.NoError(t, err)
	require.NoError(t, server.Register(s.serverReg))
	cm, err := interceptor.NewClientMetrics()
	require.NoError(t, err)
	client, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm}, interceptor.WithHistogram(interceptor.Histogram{}))
	require.NoError(t, err)
	require.NoError(t, client.Register(s.clientReg))

	match := selector.MatchFunc(notHealthOrReflection)
	s.srv = grpc.NewServer(
		grpc.ChainUnaryInterceptor(
			recovery.UnaryServerInterceptor(), // outside: sees the panic that ServerMetrics counted and passed on
			selector.UnaryServerInterceptor(server.UnaryServerInterceptor(), match),
		),
		grpc.ChainStreamInterceptor(
			recovery.StreamServerInterceptor(),
			selector.StreamServerInterceptor(server.StreamServerInterceptor(), match),
		),
	)
	testpb.RegisterTestServiceServer(s.srv, testService{})
	proxy.New().Register(s.srv)
	healthpb.RegisterHealthServer(s.srv, health.NewServer())
	reflection.Register(s.srv)
	require.NoError(t, server.Init(s.srv))

	s.conn = serveBufconn(t, s.srv, client.DialOptions()...)
	return s
}

// serveBufconn serves srv over bufconn and returns a client connection to
// it, with opts; both are stopped when the test ends.
func serveBufconn(t *testing.T, srv *grpc.Server, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }() //nolint:errcheck // Stop ends it
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn", append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close()) })
	return conn
}

// sample returns the value of the series of family name with exactly the
// given labels (a counter's value, a histogram's sample count), 0 if none.
func sample(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsEqual(m.GetLabel(), labels) {
				if h := m.GetHistogram(); h != nil {
					return float64(h.GetSampleCount())
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelsEqual(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, lp := range got {
		if want[lp.GetName()] != lp.GetValue() {
			return false
		}
	}
	return true
}

func ml(typ, service, method string, code ...string) map[string]string {
	l := map[string]string{"grpc_type": typ, "grpc_service": service, "grpc_method": method}
	if len(code) > 0 {
		l["grpc_code"] = code[0]
	}
	return l
}

const testSvc = "grpc.testing.TestService"

// TestGenericKinds drives every kind of call through ServerMetrics and
// ClientMetrics and checks the exact counts on both sides: unary success,
// error, panic, body-status failure and deadline; server, client and bidi
// streams; and a client that cancels mid-stream.
func TestGenericKinds(t *testing.T) {
	s := newGenericStack(t)
	tc := testpb.NewTestServiceClient(s.conn)
	ctx := context.Background()
	const n = 20

	var wg sync.WaitGroup
	for range 4 { // concurrent callers, under -race
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 4 {
				_, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{})
				assert.NoError(t, err)
				_, err = tc.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound)}})
				assert.Equal(t, codes.NotFound, status.Code(err))
				_, err = tc.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("panic")}})
				assert.Equal(t, codes.Unknown, status.Code(err), "recovery's default handler")
			}
		}()
	}
	wg.Wait()

	// Deadline: the handler waits until the client's deadline has passed.
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err := tc.UnaryCall(dctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("wait")}})
	cancel()
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))

	// A body-status failure: code OK, a failing Milvus status inside.
	mc := milvuspb.NewMilvusServiceClient(s.conn)
	resp, err := mc.HasCollection(fault.AppendToOutgoingContext(ctx, fault.ErrorCode), &milvuspb.HasCollectionRequest{Base: &commonpb.MsgBase{}})
	require.NoError(t, err)
	require.NotZero(t, resp.GetStatus().GetErrorCode())

	// Server stream: 3 messages, OK; then 2 messages and an error.
	for _, tc2 := range []struct {
		msgs int
		code codes.Code
	}{{3, codes.OK}, {2, codes.Aborted}} {
		params := make([]*testpb.ResponseParameters, tc2.msgs)
		for i := range params {
			params[i] = &testpb.ResponseParameters{}
		}
		st, err := tc.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params, ResponseStatus: &testpb.EchoStatus{Code: int32(tc2.code)}})
		require.NoError(t, err)
		got := 0
		for {
			_, err := st.Recv()
			if err != nil {
				if tc2.code == codes.OK {
					require.ErrorIs(t, err, io.EOF)
				} else {
					require.Equal(t, tc2.code, status.Code(err))
				}
				break
			}
			got++
		}
		require.Equal(t, tc2.msgs, got)
	}

	// Client stream: 4 messages.
	cs, err := tc.StreamingInputCall(ctx)
	require.NoError(t, err)
	for range 4 {
		require.NoError(t, cs.Send(&testpb.StreamingInputCallRequest{}))
	}
	in, err := cs.CloseAndRecv()
	require.NoError(t, err)
	require.EqualValues(t, 4, in.GetAggregatedPayloadSize())

	// Bidi: 5 round trips, then the client closes.
	bs, err := tc.FullDuplexCall(ctx)
	require.NoError(t, err)
	for range 5 {
		require.NoError(t, bs.Send(&testpb.StreamingOutputCallRequest{}))
		_, err := bs.Recv()
		require.NoError(t, err)
	}
	require.NoError(t, bs.CloseSend())
	_, err = bs.Recv()
	require.ErrorIs(t, err, io.EOF)

	// Bidi cancelled by the client after 2 round trips.
	cctx, ccancel := context.WithCancel(ctx)
	bs, err = tc.FullDuplexCall(cctx)
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, bs.Send(&testpb.StreamingOutputCallRequest{}))
		_, err := bs.Recv()
		require.NoError(t, err)
	}
	ccancel()
	_, err = bs.Recv()
	require.Equal(t, codes.Canceled, status.Code(err))

	// Health and reflection are skipped by the selector.
	_, err = healthpb.NewHealthClient(s.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)

	// The server handlers of the cancelled stream and of the expired call
	// may still be returning when the client has given up. A server sees
	// an expired deadline as DeadlineExceeded if its own timer fires first,
	// or as Canceled if the client's reset arrives first: what the handler
	// returns decides, and exactly one of them is counted.
	expired := func() float64 {
		return sample(t, s.serverReg, "grpc_server_handled_total", ml(interceptor.Unary, testSvc, "UnaryCall", "DeadlineExceeded")) +
			sample(t, s.serverReg, "grpc_server_handled_total", ml(interceptor.Unary, testSvc, "UnaryCall", "Canceled"))
	}
	require.Eventually(t, func() bool {
		return sample(t, s.serverReg, "grpc_server_handled_total", ml(interceptor.BidiStream, testSvc, "FullDuplexCall", "Canceled")) == 1 &&
			expired() == 1
	}, 5*time.Second, 10*time.Millisecond)

	srv, cli := s.serverReg, s.clientReg
	for _, side := range []struct {
		name string
		g    prometheus.Gatherer
	}{{"server", srv}, {"client", cli}} {
		t.Run(side.name, func(t *testing.T) {
			p := "grpc_" + side.name + "_"
			u := func(code string) map[string]string { return ml(interceptor.Unary, testSvc, "UnaryCall", code) }
			assert.Equal(t, float64(3*n+1), sample(t, side.g, p+"started_total", ml(interceptor.Unary, testSvc, "UnaryCall")))
			assert.Equal(t, float64(n), sample(t, side.g, p+"handled_total", u("OK")))
			assert.Equal(t, float64(n), sample(t, side.g, p+"handled_total", u("NotFound")))
			assert.Equal(t, float64(n), sample(t, side.g, p+"handled_total", u("Unknown")), "panics")
			if side.name == "client" {
				assert.Equal(t, 1.0, sample(t, side.g, p+"handled_total", u("DeadlineExceeded")))
			} else {
				assert.Equal(t, 1.0, expired())
			}
			assert.Equal(t, float64(3*n+1), sample(t, side.g, p+"handling_seconds", ml(interceptor.Unary, testSvc, "UnaryCall")))

			hc := ml(interceptor.Unary, "milvus.proto.milvus.MilvusService", "HasCollection")
			assert.Equal(t, 1.0, sample(t, side.g, "grpcmetrics_"+side.name+"_response_failed_total", hc), "body-status failure")
			hc["grpc_code"] = "OK"
			assert.Equal(t, 1.0, sample(t, side.g, p+"handled_total", hc), "a body-status failure keeps code OK")

			so := func(code string) map[string]string {
				return ml(interceptor.ServerStream, testSvc, "StreamingOutputCall", code)
			}
			assert.Equal(t, 1.0, sample(t, side.g, p+"handled_total", so("OK")))
			assert.Equal(t, 1.0, sample(t, side.g, p+"handled_total", so("Aborted")))
			recvOrSent := map[string]string{"server": p + "msg_sent_total", "client": p + "msg_received_total"}[side.name]
			assert.Equal(t, 5.0, sample(t, side.g, recvOrSent, ml(interceptor.ServerStream, testSvc, "StreamingOutputCall")))

			ci := ml(interceptor.ClientStream, testSvc, "StreamingInputCall")
			sentOrRecv := map[string]string{"server": p + "msg_received_total", "client": p + "msg_sent_total"}[side.name]
			assert.Equal(t, 4.0, sample(t, side.g, sentOrRecv, ci))
			ci["grpc_code"] = "OK"
			assert.Equal(t, 1.0, sample(t, side.g, p+"handled_total", ci))

			bd := func(code string) map[string]string {
				return ml(interceptor.BidiStream, testSvc, "FullDuplexCall", code)
			}
			assert.Equal(t, 2.0, sample(t, side.g, p+"started_total", ml(interceptor.BidiStream, testSvc, "FullDuplexCall")))
			assert.Equal(t, 1.0, sample(t, side.g, p+"handled_total", bd("OK")))
			assert.Equal(t, 1.0, sample(t, side.g, p+"handled_total", bd("Canceled")), "client cancellation")
			assert.Equal(t, 7.0, sample(t, side.g, recvOrSent, ml(interceptor.BidiStream, testSvc, "FullDuplexCall")))
		})
	}
	assert.Zero(t, sample(t, srv, "grpc_server_started_total", ml(interceptor.Unary, "grpc.health.v1.Health", "Check")), "the selector skips health")
	assert.Equal(t, 1.0, sample(t, cli, "grpc_client_started_total", ml(interceptor.Unary, "grpc.health.v1.Health", "Check")), "the client counts it")
}

// TestRecoveryOrdering installs go-grpc-middleware's recovery (with a
// handler that returns Internal and no panic details) outside and inside
// the interceptors. Both orders count a panicking handler as one failed
// call. Outside, the interceptors see the panic itself: ServerMetrics
// counts code Unknown while the client sees Internal. Inside, they see
// recovery's error: the code matches what the client sees.
func TestRecoveryOrdering(t *testing.T) {
	rec := recovery.WithRecoveryHandler(func(any) error { return status.Error(codes.Internal, "internal error") })
	for _, tt := range []struct {
		name       string
		outside    bool
		serverCode string
	}{
		{"recovery outside", true, "Unknown"},
		{"recovery inside", false, "Internal"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sm, err := interceptor.NewServerMetrics()
			require.NoError(t, err)
			install, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm})
			require.NoError(t, err)
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, install.Register(reg))
			chain := []grpc.UnaryServerInterceptor{install.UnaryServerInterceptor(), recovery.UnaryServerInterceptor(rec)}
			if tt.outside {
				chain = []grpc.UnaryServerInterceptor{recovery.UnaryServerInterceptor(rec), install.UnaryServerInterceptor()}
			}
			srv := grpc.NewServer(grpc.ChainUnaryInterceptor(chain...))
			testpb.RegisterTestServiceServer(srv, testService{})
			require.NoError(t, install.Init(srv))
			conn := serveBufconn(t, srv)

			_, err = testpb.NewTestServiceClient(conn).UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("panic")}})
			require.Equal(t, codes.Internal, status.Code(err), "the client sees recovery's code")
			assert.Equal(t, "internal error", status.Convert(err).Message(), "no panic details reach the client")
			assert.Equal(t, 1.0, sample(t, reg, "grpc_server_handled_total", ml(interceptor.Unary, testSvc, "UnaryCall", tt.serverCode)))
			assert.Equal(t, 1.0, sample(t, reg, "grpc_server_started_total", ml(interceptor.Unary, testSvc, "UnaryCall")))
		})
	}
}

type tenantKey struct{}

// TestClientRuleSeesTheChainsContext is the regression test for the
// removed Registrar, which counted outside the server's interceptors: it
// gave a ClientIDFunc the context from before they ran (so an
// authentication interceptor's identity was invisible to it), and combined
// with the interceptor it counted every call twice. Installed in the chain,
// the interceptor sees the context that the interceptors before it built,
// and counts each call once.
func TestClientRuleSeesTheChainsContext(t *testing.T) {
	m := suRegistered(t)
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	ic, err := interceptor.NewMilvusCounters(methods, interceptor.WithClientID(func(ctx context.Context, _ any) interceptor.ClientID {
		tenant, _ := ctx.Value(tenantKey{}).(string)
		return interceptor.Label(tenant)
	}))
	require.NoError(t, err)
	auth := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(context.WithValue(ctx, tenantKey{}, "tenant-a"), req)
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic})
	require.NoError(t, err)
	srv := grpc.NewServer(append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(auth)}, install.ServerOptions()...)...)
	rootcoord.New().Register(srv)
	require.NoError(t, install.Init(srv))
	conn := serveBufconn(t, srv)

	rc := rootcoordpb.NewRootCoordClient(conn)
	for range 3 {
		_, err := rc.HasCollection(context.Background(), &milvuspb.HasCollectionRequest{CollectionName: "c"})
		require.NoError(t, err)
	}
	vec := m.RootCoord.HasCollectionCounter
	assert.Equal(t, 3.0, testutil.ToFloat64(vec.WithLabelValues("tenant-a", registry.TotalLabel)), "each call once, under the chain's identity")
	assert.Equal(t, 3, testutil.CollectAndCount(vec), "no series for any other client")
}
