package monitoring_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/datanode"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// arNewA66Stack counts into gRPC's own metrics (the names the A66 flavour
// reads) over the example services: the server side from the A66 set's
// stats handler, the traffic's own calls from its client side on the
// connection. If withOthers is set, the set is installed by NewServer
// beside the provider's families and Milvus v2.0's counters of the
// built-in table, as one install; else alone. /metrics is served in
// OpenMetrics, to a scraper that asks for it, if openMetrics is set.
func arNewA66Stack(t *testing.T, withOthers, openMetrics bool) *stack {
	t.Helper()
	reg := prometheus.NewRegistry()
	set, err := interceptor.NewA66()
	require.NoError(t, err)
	sets := interceptor.ServerSets{A66: set}
	var opts []interceptor.InstallOption
	if withOthers {
		m := registry.New()
		require.NoError(t, m.Register(reg))
		table, err := methodmap.Default(m)
		require.NoError(t, err)
		if sets.Milvus, err = interceptor.NewMilvusCounters(table); err != nil {
			t.Fatal(err)
		}
		if sets.Provider, err = interceptor.NewServerMetrics(); err != nil {
			t.Fatal(err)
		}
		opts = append(opts, interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()))
	}
	install := serverInstall(t, reg, sets, opts...)
	return arServe(t, reg, grpc.NewServer(withRecovery(install)...), install, set, openMetrics)
}

// arServe registers the example services on srv, readies install, and
// serves srv to a connection counted by set's client side.
func arServe(t *testing.T, reg *prometheus.Registry, srv *grpc.Server, install *interceptor.ServerInstall, set *interceptor.A66, openMetrics bool) *stack {
	t.Helper()
	proxy.New().Register(srv)
	rootcoord.New().Register(srv)
	datanode.New().Register(srv)
	require.NoError(t, install.Init(srv))
	client, err := interceptor.NewClientInstall(interceptor.ClientSets{A66: set})
	require.NoError(t, err)
	require.NoError(t, client.Register(reg))
	conn := serveInMemory(t, srv, client.DialOptions()...)
	methods, err := unaryMethods(conn, srv)
	require.NoError(t, err)
	return &stack{metrics: promtest.ServeMetricsWith(t, reg, httpserver.Options{OpenMetrics: openMetrics}), methods: methods}
}
