package bench

import (
	"context"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	frozen "github.com/grpcmetrics/grpcmetrics/bench/internal/frozen/interceptor"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// BenchmarkEngine measures the engine against the interceptor package as it
// was before it (frozen in internal/frozen), path by path, with the two
// implementations side by side: each op is one call (or, for
// stream-message, one message), warm, with a no-op handler. go test runs
// each sub-benchmark -count times in a row, so interleave the two by
// running the binary once per sample:
//
//	go test -c -o bench.test .
//	for i in $(seq 10); do
//		for first in "" 1; do
//			ENGINE_FIRST=$first ./bench.test -test.run '^$' -test.bench BenchmarkEngine -test.benchtime 200000x
//		done
//	done > engine.txt
//	benchstat -col /impl engine.txt
//
// Paths: the Milvus counters on a proxy and a rootcoord route (default
// rules), the provider's server and client families on a unary call
// (histogram on), a server stream's message, and the two sets on one
// server, latency on (in the frozen copy, two interceptors chained, the
// histogram on ServerMetrics; here one install); and the three server
// sets that count from interceptors, in one install, and each in an
// install of its own, chained.
func BenchmarkEngine(b *testing.B) {
	for _, path := range []struct {
		name           string
		frozen, engine func(b *testing.B) func()
	}{
		{"milvus-proxy", enFrozenMilvus(proxyMethod), enEngineMilvus(proxyMethod)},
		{"milvus-rootcoord", enFrozenMilvus(rcMethod), enEngineMilvus(rcMethod)},
		{"generic-server-unary", enFrozenServer, enEngineServer},
		{"client-unary", enFrozenClient, enEngineClient},
		{"stream-message", enFrozenStream, enEngineStream},
		{"two-sets", enFrozenTwoSets, enEngineTwoSets},
		{"three-sets-one-install", enFrozenThreeSets, enEngineThreeSets},
		{"three-sets-alone", enFrozenThreeAlone, enEngineThreeAlone},
	} {
		impls := []struct {
			name  string
			build func(b *testing.B) func()
		}{{"frozen", path.frozen}, {"engine", path.engine}}
		if os.Getenv("ENGINE_FIRST") != "" { // to alternate the order between runs
			impls[0], impls[1] = impls[1], impls[0]
		}
		for _, impl := range impls {
			b.Run("path="+path.name+"/impl="+impl.name, func(b *testing.B) {
				call := impl.build(b)
				call() // warm
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					call()
				}
			})
		}
	}
}

// enMethods returns the default Milvus map over fresh registered counters.
func enMethods(b *testing.B) *methodmap.Map {
	m := registry.New()
	require.NoError(b, m.Register(prometheus.NewRegistry()))
	methods, err := methodmap.Default(m)
	require.NoError(b, err)
	return methods
}

// enServices is a server that registers proxyMethod.
type enServices struct{}

func (enServices) GetServiceInfo() map[string]grpc.ServiceInfo {
	return map[string]grpc.ServiceInfo{"milvus.proto.milvus.MilvusService": {Methods: []grpc.MethodInfo{{Name: "DescribeCollection"}}}}
}

// enUnary returns a call of icpt on method with a handler that answers
// okResp.
func enUnary(icpt grpc.UnaryServerInterceptor, method string) func() {
	ctx := context.Background()
	info := &grpc.UnaryServerInfo{FullMethod: method}
	h := returns(okResp, nil)
	return func() { sinkResp, sinkErr = icpt(ctx, benchReq, info, h) }
}

func enFrozenMilvus(method string) func(b *testing.B) func() {
	return func(b *testing.B) func() {
		ic, err := frozen.New(enMethods(b))
		require.NoError(b, err)
		return enUnary(ic.UnaryServerInterceptor(), method)
	}
}

func enEngineMilvus(method string) func(b *testing.B) func() {
	return func(b *testing.B) func() {
		ic, err := interceptor.NewMilvusCounters(enMethods(b))
		require.NoError(b, err)
		return enUnary(enInstall(b, interceptor.ServerSets{Milvus: ic}).UnaryServerInterceptor(), method)
	}
}

// enInstall builds an install of sets with opts, initialised with
// enServices.
func enInstall(b *testing.B, sets interceptor.ServerSets, opts ...interceptor.InstallOption) *interceptor.ServerInstall {
	install, err := interceptor.NewServerInstall(sets, opts...)
	require.NoError(b, err)
	require.NoError(b, install.Init(enServices{}))
	return install
}

func enFrozenServer(b *testing.B) func() {
	sm, err := frozen.NewServerMetrics(frozen.WithHistogram(frozen.Histogram{}))
	require.NoError(b, err)
	require.NoError(b, sm.Init(enServices{}))
	return enUnary(sm.UnaryServerInterceptor(), proxyMethod)
}

func enEngineServer(b *testing.B) func() {
	sm, err := interceptor.NewServerMetrics()
	require.NoError(b, err)
	return enUnary(enInstall(b, interceptor.ServerSets{Provider: sm}, interceptor.WithHistogram(interceptor.Histogram{})).UnaryServerInterceptor(), proxyMethod)
}

func enClientCall(icpt grpc.UnaryClientInterceptor) func() {
	ctx := context.Background()
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	return func() { sinkErr = icpt(ctx, proxyMethod, benchReq, okResp, nil, invoker) }
}

func enFrozenClient(b *testing.B) func() {
	cm, err := frozen.NewClientMetrics(frozen.WithHistogram(frozen.Histogram{}))
	require.NoError(b, err)
	return enClientCall(cm.UnaryClientInterceptor())
}

func enEngineClient(b *testing.B) func() {
	cm, err := interceptor.NewClientMetrics()
	require.NoError(b, err)
	install, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm}, interceptor.WithHistogram(interceptor.Histogram{}))
	require.NoError(b, err)
	return enClientCall(install.UnaryClientInterceptor())
}

// enStream is a server stream whose messages go nowhere.
type enStream struct{ grpc.ServerStream }

func (enStream) Context() context.Context { return context.Background() }
func (enStream) SendMsg(any) error        { return nil }

// enStreamMessage opens one stream through icpt and returns a send of one
// message on the stream the handler sees.
func enStreamMessage(b *testing.B, icpt grpc.StreamServerInterceptor) func() {
	var wrapped grpc.ServerStream
	info := &grpc.StreamServerInfo{FullMethod: proxyMethod, IsServerStream: true}
	require.NoError(b, icpt(nil, enStream{}, info, func(_ any, ss grpc.ServerStream) error {
		wrapped = ss
		return nil
	}))
	return func() { sinkErr = wrapped.SendMsg(okResp) }
}

func enFrozenStream(b *testing.B) func() {
	sm, err := frozen.NewServerMetrics()
	require.NoError(b, err)
	require.NoError(b, sm.Init(enServices{}))
	return enStreamMessage(b, sm.StreamServerInterceptor())
}

func enEngineStream(b *testing.B) func() {
	sm, err := interceptor.NewServerMetrics()
	require.NoError(b, err)
	return enStreamMessage(b, enInstall(b, interceptor.ServerSets{Provider: sm}).StreamServerInterceptor())
}

// enFrozenTwoSets chains the Milvus interceptor inside ServerMetrics, as
// deployed today, at the least a chain can cost: the inner handler is
// built once.
func enFrozenTwoSets(b *testing.B) func() {
	ic, err := frozen.New(enMethods(b))
	require.NoError(b, err)
	sm, err := frozen.NewServerMetrics(frozen.WithHistogram(frozen.Histogram{}))
	require.NoError(b, err)
	require.NoError(b, sm.Init(enServices{}))
	outer, inner := sm.UnaryServerInterceptor(), ic.UnaryServerInterceptor()
	ctx := context.Background()
	info := &grpc.UnaryServerInfo{FullMethod: proxyMethod}
	h := returns(okResp, nil)
	chained := func(ctx context.Context, req any) (any, error) { return inner(ctx, req, info, h) }
	return func() { sinkResp, sinkErr = outer(ctx, benchReq, info, chained) }
}

func enEngineTwoSets(b *testing.B) func() {
	ic, err := interceptor.NewMilvusCounters(enMethods(b))
	require.NoError(b, err)
	sm, err := interceptor.NewServerMetrics()
	require.NoError(b, err)
	install := enInstall(b, interceptor.ServerSets{Milvus: ic, Provider: sm}, interceptor.WithHistogram(interceptor.Histogram{}))
	return enUnary(install.UnaryServerInterceptor(), proxyMethod)
}

// enChain returns a call of the interceptors icpts chained, the first
// outermost, at the least a chain can cost: the inner handlers are built
// once.
func enChain(method string, icpts ...grpc.UnaryServerInterceptor) func() {
	ctx := context.Background()
	info := &grpc.UnaryServerInfo{FullMethod: method}
	h := returns(okResp, nil)
	for i := len(icpts) - 1; i > 0; i-- {
		inner, next := icpts[i], h
		h = func(ctx context.Context, req any) (any, error) { return inner(ctx, req, info, next) }
	}
	outer := icpts[0]
	return func() { sinkResp, sinkErr = outer(ctx, benchReq, info, h) }
}

// The three server sets that count from interceptors (Milvus v2.0's
// counters, the provider's families, Milvus 2.6's counters), latency on:
// in one install, and each in an install of its own, chained.

func enFrozenThreeSets(b *testing.B) func() {
	ic, err := frozen.New(enMethods(b))
	require.NoError(b, err)
	sm, err := frozen.NewServerMetrics()
	require.NoError(b, err)
	m26, err := frozen.NewMilvus26()
	require.NoError(b, err)
	srv, err := frozen.NewServer(frozen.ServerSets{Milvus: ic, Provider: sm, Milvus26: m26}, frozen.WithHistogram(frozen.Histogram{}))
	require.NoError(b, err)
	require.NoError(b, sm.Init(enServices{}))
	return enUnary(srv.UnaryServerInterceptor(), proxyMethod)
}

func enEngineThreeSets(b *testing.B) func() {
	ic, err := interceptor.NewMilvusCounters(enMethods(b))
	require.NoError(b, err)
	sm, err := interceptor.NewServerMetrics()
	require.NoError(b, err)
	m26, err := interceptor.NewMilvus26()
	require.NoError(b, err)
	install := enInstall(b, interceptor.ServerSets{Milvus: ic, Provider: sm, Milvus26: m26}, interceptor.WithHistogram(interceptor.Histogram{}))
	return enUnary(install.UnaryServerInterceptor(), proxyMethod)
}

func enFrozenThreeAlone(b *testing.B) func() {
	ic, err := frozen.New(enMethods(b))
	require.NoError(b, err)
	sm, err := frozen.NewServerMetrics(frozen.WithHistogram(frozen.Histogram{}))
	require.NoError(b, err)
	require.NoError(b, sm.Init(enServices{}))
	m26, err := frozen.NewMilvus26()
	require.NoError(b, err)
	return enChain(proxyMethod, sm.UnaryServerInterceptor(), ic.UnaryServerInterceptor(), m26.UnaryServerInterceptor())
}

func enEngineThreeAlone(b *testing.B) func() {
	ic, err := interceptor.NewMilvusCounters(enMethods(b))
	require.NoError(b, err)
	sm, err := interceptor.NewServerMetrics()
	require.NoError(b, err)
	m26, err := interceptor.NewMilvus26()
	require.NoError(b, err)
	return enChain(proxyMethod,
		enInstall(b, interceptor.ServerSets{Provider: sm}, interceptor.WithHistogram(interceptor.Histogram{})).UnaryServerInterceptor(),
		enInstall(b, interceptor.ServerSets{Milvus: ic}).UnaryServerInterceptor(),
		enInstall(b, interceptor.ServerSets{Milvus26: m26}).UnaryServerInterceptor())
}
