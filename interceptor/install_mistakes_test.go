package interceptor_test

import (
	"context"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// TestASetBelongsToOneInstall gives each set to a second install: an
// error from the second constructor, which names the set, where giving a
// set to two installs used to count each call twice. A66's two sides are
// two memberships: one server install and one client install may share
// it.
func TestASetBelongsToOneInstall(t *testing.T) {
	methods := miMethods(t)
	ic, err := interceptor.NewMilvusCounters(methods)
	require.NoError(t, err)
	sm, err := interceptor.NewServerMetrics()
	require.NoError(t, err)
	m26, err := interceptor.NewMilvus26()
	require.NoError(t, err)
	a, err := interceptor.NewA66()
	require.NoError(t, err)
	cm, err := interceptor.NewClientMetrics()
	require.NoError(t, err)
	_, err = interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic, Provider: sm, Milvus26: m26, A66: a})
	require.NoError(t, err)
	_, err = interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm, A66: a})
	require.NoError(t, err, "A66's client side is free")
	for name, sets := range map[string]interceptor.ServerSets{
		"ServerSets.Milvus":   {Milvus: ic},
		"ServerSets.Provider": {Provider: sm},
		"ServerSets.Milvus26": {Milvus26: m26},
		"ServerSets.A66":      {A66: a},
	} {
		_, err := interceptor.NewServerInstall(sets)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name+" belongs to another install already")
	}
	_, err = interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm})
	require.ErrorContains(t, err, "ClientSets.Provider belongs to another install already")
	_, err = interceptor.NewClientInstall(interceptor.ClientSets{A66: a})
	require.ErrorContains(t, err, "ClientSets.A66 belongs to another install already")

	// A failed install leaves its other sets free.
	sm2, err := interceptor.NewServerMetrics()
	require.NoError(t, err)
	_, err = interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm2, Milvus: ic})
	require.Error(t, err)
	_, err = interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm2})
	require.NoError(t, err)
}

// TestInitBeforeServicesIsAnError calls Init on a server with no service
// yet, the mistake that used to count every call under "unknown" and
// "other" silently, and on a server none of whose methods the install's
// sets count.
func TestInitBeforeServicesIsAnError(t *testing.T) {
	sm, err := interceptor.NewServerMetrics()
	require.NoError(t, err)
	a, err := interceptor.NewA66()
	require.NoError(t, err)
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm, A66: a})
	require.NoError(t, err)
	gs := grpc.NewServer(install.ServerOptions()...)
	require.ErrorContains(t, install.Init(gs), "registers no service: call Init after registering the services")
	rootcoordpb.RegisterRootCoordServer(gs, isoRootCoord{})
	require.NoError(t, install.Init(gs), "a failed Init may be called again")
	require.ErrorContains(t, install.Init(gs), "called twice")

	methods := miMethods(t)
	ic, err := interceptor.NewMilvusCounters(methods)
	require.NoError(t, err)
	milvusOnly, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic})
	require.NoError(t, err)
	hs := grpc.NewServer(milvusOnly.ServerOptions()...)
	healthpb.RegisterHealthServer(hs, health.NewServer())
	require.ErrorContains(t, milvusOnly.Init(hs), "none of the server's methods is in Milvus v2.0's method map")
}

// TestA66ClientContextLabelsNeedAClientFunction refuses an A66 whose
// context labels have no Client function in a client install: a function
// that reads the incoming metadata, right on a server, gave every client
// series empty values.
func TestA66ClientContextLabelsNeedAClientFunction(t *testing.T) {
	serverOnly := interceptor.WithA66ContextLabels(interceptor.A66ContextLabels{
		Names:  []string{"tenant"},
		Server: func(context.Context) []string { return []string{"t"} },
	})
	a, err := interceptor.NewA66(serverOnly)
	require.NoError(t, err)
	_, err = interceptor.NewClientInstall(interceptor.ClientSets{A66: a})
	require.ErrorContains(t, err, "without a Client function")
	_, err = interceptor.NewServerInstall(interceptor.ServerSets{A66: a})
	require.NoError(t, err)

	clientOnly := interceptor.WithA66ContextLabels(interceptor.A66ContextLabels{
		Names:  []string{"tenant"},
		Client: func(context.Context) []string { return []string{"t"} },
	})
	b, err := interceptor.NewA66(clientOnly)
	require.NoError(t, err)
	_, err = interceptor.NewServerInstall(interceptor.ServerSets{A66: b})
	require.ErrorContains(t, err, "without a Server function")
}

// TestMilvus26RefusesOptionsItWouldIgnore: WithNodeID and
// WithCollectionLimit beside WithRootCoordDDL, whose families have no
// node_id nor collection, used to be accepted and ignored.
func TestMilvus26RefusesOptionsItWouldIgnore(t *testing.T) {
	for name, opt := range map[string]interceptor.Milvus26Option{
		"WithNodeID":          interceptor.WithNodeID(7),
		"WithCollectionLimit": interceptor.WithCollectionLimit(10),
	} {
		_, err := interceptor.NewMilvus26(interceptor.WithRootCoordDDL(), opt)
		assert.ErrorContains(t, err, "do not apply with WithRootCoordDDL", name)
	}
}

// miServe serves a rootcoord over bufconn with the server options given,
// after Init of install (if any), and returns a client dialled with dial
// and a function that stops the server gracefully: grpc-go ends a call
// (a stats handler's End) after its status is written.
func miServe(t *testing.T, install *interceptor.ServerInstall, opts []grpc.ServerOption, dial ...grpc.DialOption) (rootcoordpb.RootCoordClient, func()) {
	t.Helper()
	gs := grpc.NewServer(opts...)
	rootcoordpb.RegisterRootCoordServer(gs, isoRootCoord{})
	if install != nil {
		require.NoError(t, install.Init(gs))
	}
	lis := bufconn.Listen(1 << 20)
	served := make(chan error, 1)
	go func() { served <- gs.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn", append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, dial...)...)
	require.NoError(t, err)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			require.NoError(t, conn.Close())
			gs.GracefulStop()
			require.NoError(t, <-served)
		}
	}
	t.Cleanup(stop)
	return rootcoordpb.NewRootCoordClient(conn), stop
}

// TestPartialServerInstallIsReported installs part of a server install
// that holds A66 beside the provider's families: the interceptors alone
// (A66 used to count nothing, silently), then the stats handler alone.
// Each call counts in grpcmetrics_server_install_incomplete_total by the
// part missing, and the first is logged at warn level.
func TestPartialServerInstallIsReported(t *testing.T) {
	for _, tc := range []struct {
		part string
		opts func(*interceptor.ServerInstall) []grpc.ServerOption
	}{
		{"stats_handler", func(s *interceptor.ServerInstall) []grpc.ServerOption {
			return []grpc.ServerOption{grpc.ChainUnaryInterceptor(s.UnaryServerInterceptor()), grpc.ChainStreamInterceptor(s.StreamServerInterceptor())}
		}},
		{"interceptors", func(s *interceptor.ServerInstall) []grpc.ServerOption {
			return []grpc.ServerOption{grpc.StatsHandler(s.StatsHandler())}
		}},
	} {
		t.Run(tc.part, func(t *testing.T) {
			core, logs := observer.New(zapcore.WarnLevel)
			sm, err := interceptor.NewServerMetrics()
			require.NoError(t, err)
			a, err := interceptor.NewA66()
			require.NoError(t, err)
			install, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm, A66: a}, interceptor.WithLogger(zap.New(core)))
			require.NoError(t, err)
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, install.Register(reg))
			rc, stop := miServe(t, install, tc.opts(install))
			for range 3 {
				_, err := rc.CreateCollection(context.Background(), &milvuspb.CreateCollectionRequest{CollectionName: "ok"})
				require.NoError(t, err)
			}
			stop()
			assert.Equal(t, 3.0, isoSamples(t, reg)["grpcmetrics_server_install_incomplete_total{part="+tc.part+"}"])
			assert.Equal(t, 1, logs.FilterMessageSnippet("not installed").Len())
		})
	}
}

// TestPartialClientInstallIsReported does as
// TestPartialServerInstallIsReported on a client that holds A66 beside
// the provider's families.
func TestPartialClientInstallIsReported(t *testing.T) {
	for _, tc := range []struct {
		part string
		opts func(*interceptor.ClientInstall) []grpc.DialOption
	}{
		{"stats_handler", func(c *interceptor.ClientInstall) []grpc.DialOption {
			return []grpc.DialOption{grpc.WithChainUnaryInterceptor(c.UnaryClientInterceptor())}
		}},
		{"interceptors", func(c *interceptor.ClientInstall) []grpc.DialOption {
			return []grpc.DialOption{grpc.WithStatsHandler(c.StatsHandler())}
		}},
	} {
		t.Run(tc.part, func(t *testing.T) {
			core, logs := observer.New(zapcore.WarnLevel)
			cm, err := interceptor.NewClientMetrics()
			require.NoError(t, err)
			a, err := interceptor.NewA66()
			require.NoError(t, err)
			install, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm, A66: a}, interceptor.WithLogger(zap.New(core)))
			require.NoError(t, err)
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, install.Register(reg))
			rc, stop := miServe(t, nil, nil, tc.opts(install)...)
			for range 3 {
				_, err := rc.CreateCollection(context.Background(), &milvuspb.CreateCollectionRequest{CollectionName: "ok"})
				require.NoError(t, err)
			}
			stop()
			assert.Equal(t, 3.0, isoSamples(t, reg)["grpcmetrics_client_install_incomplete_total{part="+tc.part+"}"])
			assert.Equal(t, 1, logs.FilterMessageSnippet("not installed").Len())
		})
	}
}

// miMethods returns the default method map over counters registered on a
// registry of their own.
func miMethods(t *testing.T) *methodmap.Map {
	t.Helper()
	m := registry.New()
	require.NoError(t, m.Register(prometheus.NewRegistry()))
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	return methods
}
