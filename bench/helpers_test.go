package bench

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/milvustype"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

const (
	rcMethod       = "/milvus.proto.rootcoord.RootCoord/DescribeCollection"
	proxyMethod    = "/milvus.proto.milvus.MilvusService/DescribeCollection"
	unmappedMethod = "/milvus.proto.query.QueryCoord/ShowCollections"
)

// modes are the three ways to configure status and client detection.
var modes = []struct {
	name string
	opts []any // a MilvusOption or an InstallOption
}{
	// default: no options; the default rules read the status and the
	// SourceID through reflect, by field index cached per Go type.
	{"default", nil},
	// typed: the generic helpers over the generated Milvus types.
	{"typed", typedOpts()},
	// func: hand-written type switches (examples/milvustype).
	{"func", []any{
		interceptor.WithStatus(milvustype.Status),
		interceptor.WithClientID(milvustype.Client),
	}},
}

// typedOpts are the ready-made generic helpers over the generated Milvus
// status and MsgBase types.
func typedOpts() []any {
	return []any{
		interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()),
		interceptor.WithClientID(interceptor.MilvusSourceID[*commonpb.MsgBase]()),
	}
}

// newGRPCMetrics builds a registry, the Milvus method map and Milvus
// v2.0's counters on it in an install, with opts (each a MilvusOption or
// an InstallOption), all registered on a fresh Prometheus registry, as
// deployed.
func newGRPCMetrics(tb testing.TB, opts ...any) (*registry.Metrics, *interceptor.ServerInstall) {
	tb.Helper()
	m := registry.New()
	reg := prometheus.NewRegistry()
	require.NoError(tb, m.Register(reg))
	mm, err := methodmap.Default(m)
	require.NoError(tb, err)
	var set []interceptor.MilvusOption
	var install []interceptor.InstallOption
	for _, o := range opts {
		switch v := o.(type) {
		case interceptor.MilvusOption:
			set = append(set, v)
		case interceptor.InstallOption:
			install = append(install, v)
		default:
			tb.Fatalf("option %T is neither a MilvusOption nor an InstallOption", o)
		}
	}
	ic, err := interceptor.NewMilvusCounters(mm, set...)
	require.NoError(tb, err)
	return m, serverInstall(tb, reg, interceptor.ServerSets{Milvus: ic}, benchServices{}, install...)
}

// serverInstall builds an install of sets with opts, registered on reg
// and initialised with srv.
func serverInstall(tb testing.TB, reg prometheus.Registerer, sets interceptor.ServerSets, srv interceptor.ServiceInfoProvider, opts ...interceptor.InstallOption) *interceptor.ServerInstall {
	tb.Helper()
	install, err := interceptor.NewServerInstall(sets, opts...)
	require.NoError(tb, err)
	require.NoError(tb, install.Register(reg))
	require.NoError(tb, install.Init(srv))
	return install
}

// benchServices is a server that registers the methods the benchmarks
// call.
type benchServices struct{}

func (benchServices) GetServiceInfo() map[string]grpc.ServiceInfo {
	return map[string]grpc.ServiceInfo{
		"milvus.proto.milvus.MilvusService": {Methods: []grpc.MethodInfo{{Name: "DescribeCollection"}}},
		"milvus.proto.rootcoord.RootCoord":  {Methods: []grpc.MethodInfo{{Name: "DescribeCollection"}}},
		"milvus.proto.query.QueryCoord":     {Methods: []grpc.MethodInfo{{Name: "ShowCollections"}}},
	}
}

// checkCounted fails tb unless method's counter holds n calls in "total" and
// in call label value want, and none in the other one: for a RootCoord
// method under client_1 (benchReq's SourceID), for a Proxy method under the
// status label alone.
func checkCounted(tb testing.TB, m *registry.Metrics, method, want string, n int) {
	tb.Helper()
	other := registry.FailLabel
	if want == registry.FailLabel {
		other = registry.SuccessLabel
	}
	var vec *prometheus.CounterVec
	var prefix []string
	switch method {
	case rcMethod:
		vec, prefix = m.RootCoord.DescribeCollectionCounter, []string{registry.ClientLabel(benchReq.Base.SourceID)}
	case proxyMethod:
		vec = m.Proxy.DescribeCollectionCounter
	default:
		require.FailNow(tb, "checkCounted: no counter known", method)
	}
	for label, wantN := range map[string]int{registry.TotalLabel: n, want: n, other: 0} {
		got := testutil.ToFloat64(vec.WithLabelValues(append(prefix, label)...))
		assert.Equal(tb, float64(wantN), got, "%s{%v %s}", method, prefix, label)
	}
}

func returns(resp any, err error) grpc.UnaryHandler {
	return func(context.Context, any) (any, error) { return resp, err }
}
