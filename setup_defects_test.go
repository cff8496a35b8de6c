package grpcmetrics_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// suBadService is a service name that is not valid UTF-8. grpc-go
// registers and routes it like any other.
const suBadService = "grpcmetrics.su\xffBad"

// suEmptyService is a service with a unary method Echo and a
// server-streaming method Stream, both answering empty messages, under the
// service name svc, written by hand so that the name can be anything.
func suEmptyService(svc string) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: svc,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Echo",
			Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
				in := new(emptypb.Empty)
				if err := dec(in); err != nil {
					return nil, err
				}
				h := func(context.Context, any) (any, error) { return &emptypb.Empty{}, nil }
				if icpt == nil {
					return h(ctx, in)
				}
				return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + svc + "/Echo"}, h)
			},
		}},
		Streams: []grpc.StreamDesc{{
			StreamName:    "Stream",
			ServerStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				if err := ss.RecvMsg(new(emptypb.Empty)); err != nil {
					return err
				}
				return ss.SendMsg(&emptypb.Empty{})
			},
		}},
	}
}

// suServe serves svc counted by the install server (inside a recovery
// interceptor that fails the test on any panic) over bufconn; the client
// is counted by the install client when it is not nil. With init,
// server.Init runs before serving.
func suServe(t *testing.T, server *interceptor.ServerInstall, client *interceptor.ClientInstall, svc string, init bool) *grpc.ClientConn {
	t.Helper()
	onPanic := recovery.WithRecoveryHandler(func(p any) error {
		t.Errorf("panic on the server's request path: %v", p)
		return status.Error(codes.Internal, "internal error")
	})
	srv := grpc.NewServer(append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(onPanic)),
		grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(onPanic)),
	}, server.ServerOptions()...)...)
	srv.RegisterService(suEmptyService(svc), struct{}{})
	if init {
		require.NoError(t, server.Init(srv))
	}
	var opts []grpc.DialOption
	if client != nil {
		opts = client.DialOptions()
	}
	return serveBufconn(t, srv, opts...)
}

// suInstalls returns a server install of new server metrics and a client
// install of new client metrics, with opts.
func suInstalls(t *testing.T, opts ...interceptor.InstallOption) (*interceptor.ServerInstall, *interceptor.ClientInstall) {
	t.Helper()
	sm, err := interceptor.NewServerMetrics()
	require.NoError(t, err)
	server, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm}, opts...)
	require.NoError(t, err)
	cm, err := interceptor.NewClientMetrics()
	require.NoError(t, err)
	client, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm}, opts...)
	require.NoError(t, err)
	return server, client
}

// suCallUnary makes one unary call of svc's Echo with a raw Invoke.
func suCallUnary(t *testing.T, conn *grpc.ClientConn, svc string) {
	t.Helper()
	require.NoError(t, conn.Invoke(t.Context(), "/"+svc+"/Echo", &emptypb.Empty{}, new(emptypb.Empty)), "unary call")
}

// suCallStream makes one server-streaming call of svc's Stream with a raw
// NewStream, read to its end.
func suCallStream(t *testing.T, conn *grpc.ClientConn, svc string) {
	t.Helper()
	st, err := conn.NewStream(t.Context(), &grpc.StreamDesc{ServerStreams: true}, "/"+svc+"/Stream")
	require.NoError(t, err)
	require.NoError(t, st.SendMsg(&emptypb.Empty{}))
	require.NoError(t, st.CloseSend())
	require.NoError(t, st.RecvMsg(new(emptypb.Empty)), "stream message")
	require.ErrorIs(t, st.RecvMsg(new(emptypb.Empty)), io.EOF, "stream status")
}

// TestSetupInvalidUTF8ServiceName registers a service whose name is not
// valid UTF-8 and calls it, unary and streaming. Neither side may panic;
// the server counts the calls under the name repaired with U+FFFD, the
// client (which may call any string) under UnknownMethod.
func TestSetupInvalidUTF8ServiceName(t *testing.T) {
	repaired := strings.ToValidUTF8(suBadService, "\uFFFD")
	for _, tt := range []struct {
		name   string
		call   func(*testing.T, *grpc.ClientConn, string)
		typ    string
		method string
	}{
		{"unary", suCallUnary, interceptor.Unary, "Echo"},
		{"stream", suCallStream, interceptor.ServerStream, "Stream"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			server, client := suInstalls(t)
			serverReg := prometheus.NewPedanticRegistry()
			require.NoError(t, server.Register(serverReg))
			clientReg := prometheus.NewPedanticRegistry()
			require.NoError(t, client.Register(clientReg))
			conn := suServe(t, server, client, suBadService, true)

			require.NotPanics(t, func() { tt.call(t, conn, suBadService) })

			assert.Equal(t, 1.0, sample(t, serverReg, "grpc_server_handled_total", ml(tt.typ, repaired, tt.method, "OK")), "server")
			assert.Equal(t, 1.0, sample(t, clientReg, "grpc_client_handled_total", ml(tt.typ, interceptor.UnknownMethod, interceptor.UnknownMethod, "OK")), "client")
		})
	}
}

// suRegistered returns registry.New()'s metrics, registered on a registry
// of their own, as methodmap.Default requires.
func suRegistered(t testing.TB) *registry.Metrics {
	t.Helper()
	m := registry.New()
	require.NoError(t, m.Register(prometheus.NewRegistry()))
	return m
}

// TestSetupInitTypedNilServer gives Init a nil *grpc.Server, which must be
// an error naming it, not a panic; and Init before the services are
// registered, an error that says so.
func TestSetupInitTypedNilServer(t *testing.T) {
	for _, tt := range []struct {
		name string
		srvs []interceptor.ServiceInfoProvider
		want string
	}{
		{"typed nil", []interceptor.ServiceInfoProvider{(*grpc.Server)(nil)}, "server 0 is nil"},
		{"typed nil after a server", []interceptor.ServiceInfoProvider{grpc.NewServer(), (*grpc.Server)(nil)}, "server 1 is nil"},
		{"no server", nil, "no server"},
		{"no service registered yet", []interceptor.ServiceInfoProvider{grpc.NewServer()}, "registers no service: call Init after registering the services"},
		{"untyped nil", []interceptor.ServiceInfoProvider{nil}, "server 0 is nil"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			server, _ := suInstalls(t)
			var err error
			require.NotPanics(t, func() { err = server.Init(tt.srvs...) })
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestSetupCallsBeforeInit counts calls that reach a ServerMetrics before
// Init: grpcmetrics_server_calls_before_init_total counts each, and the
// logger warns once.
func TestSetupCallsBeforeInit(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	server, _ := suInstalls(t, interceptor.WithLogger(zap.New(core)))
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, server.Register(reg))
	const family = "grpcmetrics_server_calls_before_init_total"
	require.Contains(t, suFamilies(t, reg), family, "exposed at zero before any call")

	conn := suServe(t, server, nil, "grpcmetrics.su.Early", false)
	for range 2 {
		suCallUnary(t, conn, "grpcmetrics.su.Early")
		suCallStream(t, conn, "grpcmetrics.su.Early")
	}

	assert.Equal(t, 4.0, sample(t, reg, family, map[string]string{}), "two unary calls and two streams before Init")
	assert.Equal(t, 2.0, sample(t, reg, "grpc_server_handled_total", ml(interceptor.Unary, interceptor.UnknownMethod, interceptor.UnknownMethod, "OK")))
	warned := logs.FilterMessageSnippet("Init").All()
	require.Len(t, warned, 1, "one warning, not one per call: %v", logs.All())
	assert.Equal(t, zapcore.WarnLevel, warned[0].Level)
}

// suFamilies returns the names of the families g gathers.
func suFamilies(t *testing.T, g prometheus.Gatherer) []string {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	return names
}
