package methodmap_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

func counter(name string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: name}, labels)
}

func TestParseMethod(t *testing.T) {
	tests := []struct {
		in, service, method, err string
	}{
		{in: "/milvus.proto.rootcoord.RootCoord/CreateCollection", service: "milvus.proto.rootcoord.RootCoord", method: "CreateCollection"},
		{in: "/pkg.Svc/M_1", service: "pkg.Svc", method: "M_1"},
		{in: "", err: "must start with '/'"},
		{in: "pkg.Svc/M", err: "must start with '/'"},
		{in: "/pkg.Svc", err: "no '/' between service and method"},
		{in: "/Svc/M", err: "has no package"},
		{in: "/pkg.Svc/", err: "not a protobuf identifier"},
		{in: "/pkg.Svc/M/extra", err: "not a protobuf identifier"},
		{in: "//M", err: "empty service name"},
		{in: "/pkg..Svc/M", err: "not a protobuf identifier"},
		{in: "/pkg.1Svc/M", err: "not a protobuf identifier"},
		{in: "/pkg.Svc/M ethod", err: "not a protobuf identifier"},
		{in: "/pkg.Svc/\xff", err: "not a protobuf identifier"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			svc, m, err := methodmap.ParseMethod(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.service, svc)
			assert.Equal(t, tt.method, m)
		})
	}
}

func TestNewRejectsBadRoutes(t *testing.T) {
	ok := counter("ok_total", "status")
	tests := []struct {
		name   string
		routes []methodmap.Route
		err    string
	}{
		{"malformed name", []methodmap.Route{{Method: "CreateCollection", Counter: ok, Scheme: methodmap.StatusScheme}}, "must start with '/'"},
		{"duplicate", []methodmap.Route{
			{Method: "/p.S/M", Counter: ok, Scheme: methodmap.StatusScheme},
			{Method: "/p.S/M", Counter: counter("other_total", "status"), Scheme: methodmap.StatusScheme},
		}, "duplicate route for /p.S/M"},
		{"nil counter", []methodmap.Route{{Method: "/p.S/M", Scheme: methodmap.StatusScheme}}, "nil counter"},
		{"unknown scheme", []methodmap.Route{{Method: "/p.S/M", Counter: ok}}, "unknown scheme"},
		{"status scheme, type label", []methodmap.Route{{Method: "/p.S/M", Counter: counter("a_total", "type"), Scheme: methodmap.StatusScheme}}, "does not fit scheme {status}"},
		{"status scheme, extra label", []methodmap.Route{{Method: "/p.S/M", Counter: counter("b_total", "status", "x"), Scheme: methodmap.StatusScheme}}, "does not fit scheme {status}"},
		{"type scheme, status label", []methodmap.Route{{Method: "/p.S/M", Counter: counter("c_total", "status"), Scheme: methodmap.TypeScheme}}, "does not fit scheme {type}"},
		{"client scheme, missing client_id", []methodmap.Route{{Method: "/p.S/M", Counter: counter("d_total", "type"), Scheme: methodmap.ClientTypeScheme}}, "does not fit scheme {client_id, type}"},
		{"client scheme, swapped name", []methodmap.Route{{Method: "/p.S/M", Counter: counter("e_total", "client", "type"), Scheme: methodmap.ClientTypeScheme}}, "does not fit scheme {client_id, type}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := methodmap.New(tt.routes...)
			require.Error(t, err)
			assert.Nil(t, m)
			assert.Contains(t, err.Error(), tt.err)
		})
	}
}

func TestClientSchemeProbeLeavesNoSeries(t *testing.T) {
	vec := counter("probe_total", "client_id", "type")
	_, err := methodmap.New(methodmap.Route{Method: "/p.S/M", Counter: vec, Scheme: methodmap.ClientTypeScheme})
	require.NoError(t, err)
	assert.Equal(t, 0, testutil.CollectAndCount(vec))
}

func TestStaticSchemesResolveChildren(t *testing.T) {
	vec := counter("resolved_total", "status")
	m, err := methodmap.New(methodmap.Route{Method: "/p.S/M", Counter: vec, Scheme: methodmap.StatusScheme})
	require.NoError(t, err)
	e, ok := m.Lookup("/p.S/M")
	require.True(t, ok)
	e.Total.Inc()
	e.Fail.Inc()
	e.Fail.Inc()
	assert.Equal(t, 3, testutil.CollectAndCount(vec), "total, success and fail exist from the start")
	assert.Equal(t, 1.0, testutil.ToFloat64(vec.WithLabelValues(registry.TotalLabel)))
	assert.Equal(t, 0.0, testutil.ToFloat64(vec.WithLabelValues(registry.SuccessLabel)))
	assert.Equal(t, 2.0, testutil.ToFloat64(vec.WithLabelValues(registry.FailLabel)))
}

func TestDefaultTable(t *testing.T) {
	reg := suRegistered(t)
	m, err := methodmap.Default(reg)
	require.NoError(t, err)
	require.Equal(t, 49, m.Len())

	counts := map[string]int{}
	for i, e := range m.Entries() {
		assert.Equal(t, i, e.Index)
		svc, _, err := methodmap.ParseMethod(e.Method)
		require.NoError(t, err)
		counts[svc]++
	}
	assert.Equal(t, map[string]int{
		methodmap.DefaultMilvusService: 28,
		methodmap.DefaultProxy:         5,
		methodmap.DefaultRootCoord:     14,
		methodmap.DefaultDataNode:      2,
	}, counts)

	tests := []struct {
		method  string
		counter *prometheus.CounterVec
		scheme  methodmap.Scheme
	}{
		{"/milvus.proto.milvus.MilvusService/CreateCollection", reg.Proxy.CreateCollectionCounter, methodmap.StatusScheme},
		{"/milvus.proto.milvus.MilvusService/GetIndexState", reg.Proxy.GetIndexStateCounter, methodmap.StatusScheme},
		{"/milvus.proto.milvus.MilvusService/Dummy", reg.Proxy.DummyCounter, methodmap.StatusScheme},
		{"/milvus.proto.proxy.Proxy/ReleaseDQLMessageStream", reg.Proxy.ReleaseDQLMessageStreamCounter, methodmap.StatusScheme},
		{"/milvus.proto.rootcoord.RootCoord/CreateCollection", reg.RootCoord.CreateCollectionCounter, methodmap.ClientTypeScheme},
		{"/milvus.proto.rootcoord.RootCoord/ShowSegments", reg.RootCoord.ShowSegmentsCounter, methodmap.ClientTypeScheme},
		{"/milvus.proto.data.DataNode/WatchDmChannels", reg.DataNode.WatchDmChannelsCounter, methodmap.TypeScheme},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			e, ok := m.Lookup(tt.method)
			require.True(t, ok)
			assert.Same(t, tt.counter, e.Counter)
			assert.Equal(t, tt.scheme, e.Scheme)
		})
	}
	_, ok := m.Lookup("/milvus.proto.milvus.MilvusService/Retrieve")
	assert.False(t, ok, "Retrieve has no RPC; the counter is reachable only by a user route")
}

func TestServiceOverride(t *testing.T) {
	reg := suRegistered(t)
	routes, err := methodmap.MilvusRoutes(reg, methodmap.Services{Proxy: "milvus.proto.Proxy"})
	require.NoError(t, err)
	routes = append(routes, methodmap.Route{
		Method: "/milvus.proto.milvus.MilvusService/Retrieve", Counter: reg.Proxy.RetrieveCounter, Scheme: methodmap.StatusScheme,
	})
	m, err := methodmap.New(routes...)
	require.NoError(t, err)
	assert.Equal(t, 50, m.Len())
	_, ok := m.Lookup("/milvus.proto.Proxy/GetDdChannel")
	assert.True(t, ok)
	_, ok = m.Lookup("/milvus.proto.proxy.Proxy/GetDdChannel")
	assert.False(t, ok)
	_, ok = m.Lookup("/milvus.proto.rootcoord.RootCoord/DropIndex")
	assert.True(t, ok, "services not overridden keep their default names")

	_, err = methodmap.MilvusRoutes(reg, methodmap.Services{RootCoord: "RootCoord"})
	require.ErrorContains(t, err, `service "RootCoord" has no package`)
	_, err = methodmap.MilvusRoutes(nil, methodmap.Services{})
	require.Error(t, err)
}

func TestLookupAllocatesNothing(t *testing.T) {
	m, err := methodmap.Default(suRegistered(t))
	require.NoError(t, err)
	method := strings.Clone("/milvus.proto.rootcoord.RootCoord/ShowSegments")
	allocs := testing.AllocsPerRun(1000, func() {
		// Plain ifs: a testify call per run would allocate in t.Helper.
		if _, ok := m.Lookup(method); !ok {
			require.FailNow(t, "mapped method not found")
		}
		if _, ok := m.Lookup("/unknown.Svc/M"); ok {
			require.FailNow(t, "unknown method found")
		}
	})
	assert.Zero(t, allocs)
}

type fakeServer map[string]grpc.ServiceInfo

func (f fakeServer) GetServiceInfo() map[string]grpc.ServiceInfo { return f }

func TestCheck(t *testing.T) {
	m, err := methodmap.Default(suRegistered(t))
	require.NoError(t, err)
	srv := fakeServer{
		methodmap.DefaultProxy: {Methods: []grpc.MethodInfo{
			{Name: "GetComponentStates"}, {Name: "GetStatisticsChannel"},
			{Name: "InvalidateCollectionMetaCache"}, {Name: "GetDdChannel"},
			{Name: "NewRPC"}, {Name: "Watch", IsServerStream: true},
		}},
	}
	cov := m.Check(srv)
	assert.Equal(t, []string{"/milvus.proto.proxy.Proxy/NewRPC"}, cov.Unmapped, "streams are not reported")
	assert.Equal(t, []string{"/milvus.proto.proxy.Proxy/ReleaseDQLMessageStream"}, cov.Unknown,
		"methods are checked within the services the server registers")
	assert.Equal(t, []string{methodmap.DefaultDataNode, methodmap.DefaultMilvusService, methodmap.DefaultRootCoord}, cov.Unregistered,
		"sorted")
	assert.False(t, cov.OK())
	assert.Contains(t, cov.String(), "unregistered services: "+methodmap.DefaultDataNode+", ")
}

// TestCheckCatchesServiceTypos overrides a service name with a typo: the
// typo is an unregistered service and the real service's methods are
// unmapped, where before the typo was silent.
func TestCheckCatchesServiceTypos(t *testing.T) {
	routes, err := methodmap.MilvusRoutes(suRegistered(t), methodmap.Services{RootCoord: "milvus.proto.rootcord.RootCoord"})
	require.NoError(t, err)
	m, err := methodmap.New(routes...)
	require.NoError(t, err)
	srv := fakeServer{methodmap.DefaultRootCoord: {Methods: []grpc.MethodInfo{{Name: "CreateCollection"}}}}
	cov := m.Check(srv)
	assert.Contains(t, cov.Unregistered, "milvus.proto.rootcord.RootCoord")
	assert.Equal(t, []string{"/milvus.proto.rootcoord.RootCoord/CreateCollection"}, cov.Unmapped)
	assert.False(t, cov.OK())
}

func TestCheckComplete(t *testing.T) {
	m, err := methodmap.New(methodmap.Route{
		Method:  "/a.S/M",
		Counter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "m_total", Help: "h"}, []string{"status"}),
		Scheme:  methodmap.StatusScheme,
	})
	require.NoError(t, err)
	cov := m.Check(fakeServer{"a.S": {Methods: []grpc.MethodInfo{{Name: "M"}, {Name: "Stream", IsClientStream: true}}}})
	assert.True(t, cov.OK(), cov.String())
	assert.Equal(t, "complete", cov.String())
}

func TestSchemeString(t *testing.T) {
	assert.Equal(t, "{status}", methodmap.StatusScheme.String())
	assert.Equal(t, "{client_id, type}", methodmap.ClientTypeScheme.String())
	assert.Equal(t, "{type}", methodmap.TypeScheme.String())
	assert.Equal(t, "Scheme(9)", methodmap.Scheme(9).String())
	assert.Nil(t, methodmap.Scheme(0).Labels())
}
