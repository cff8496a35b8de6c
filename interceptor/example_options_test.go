package interceptor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// docCall calls icpt once, as gRPC would, with a handler that returns resp
// and err.
func docCall(icpt grpc.UnaryServerInterceptor, ctx context.Context, method string, req, resp any, err error) {
	handler := func(context.Context, any) (any, error) { return resp, err }
	if _, got := icpt(ctx, req, &grpc.UnaryServerInfo{FullMethod: method}, handler); got != err {
		panic(fmt.Sprintf("the interceptor returned %v, not the handler's %v", got, err))
	}
}

// docInstall builds a server install of sets with opts, on a server that
// registers Milvus's proxy and rootcoord services, after Init: its
// interceptors are then called directly, as gRPC would call them.
func docInstall(sets interceptor.ServerSets, opts ...interceptor.InstallOption) *interceptor.ServerInstall {
	install, err := interceptor.NewServerInstall(sets, opts...)
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(install.ServerOptions()...)
	milvuspb.RegisterMilvusServiceServer(srv, milvuspb.UnimplementedMilvusServiceServer{})
	rootcoordpb.RegisterRootCoordServer(srv, rootcoordpb.UnimplementedRootCoordServer{})
	if err := install.Init(srv); err != nil { // after registering, before serving
		panic(err)
	}
	return install
}

// docMilvus returns Milvus v2.0's collectors and table, registered on a
// registry of their own.
func docMilvus() (*registry.Metrics, *methodmap.Map) {
	m := registry.New()
	if err := m.Register(prometheus.NewRegistry()); err != nil {
		panic(err)
	}
	methods, err := methodmap.Default(m)
	if err != nil {
		panic(err)
	}
	return m, methods
}

// A Classifier decides one method's outcome from the handler's response and
// error. Milvus counted DescribeIndex's "index does not exist" as a success;
// any other answer of that method is left to the default rule.
func ExampleWithOutcome() {
	m, methods := docMilvus()
	const describeIndex = "/milvus.proto.milvus.MilvusService/DescribeIndex"
	ic, err := interceptor.NewMilvusCounters(methods, interceptor.WithOutcome(describeIndex,
		func(resp any, err error) interceptor.Outcome {
			r, ok := resp.(*milvuspb.DescribeIndexResponse)
			if ok && r.GetStatus().GetErrorCode() == commonpb.ErrorCode_IndexNotExist {
				return interceptor.Success
			}
			return interceptor.Default // an error or another failing status: fail
		}))
	if err != nil {
		panic(err)
	}
	icpt := docInstall(interceptor.ServerSets{Milvus: ic}).UnaryServerInterceptor()
	notExist := &milvuspb.DescribeIndexResponse{Status: &commonpb.Status{ErrorCode: commonpb.ErrorCode_IndexNotExist}}
	unexpected := &milvuspb.DescribeIndexResponse{Status: &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError}}
	docCall(icpt, context.Background(), describeIndex, &milvuspb.DescribeIndexRequest{}, notExist, nil)
	docCall(icpt, context.Background(), describeIndex, &milvuspb.DescribeIndexRequest{}, unexpected, nil)
	for _, v := range []string{registry.SuccessLabel, registry.FailLabel} {
		fmt.Println(v, testutil.ToFloat64(m.Proxy.DescribeIndexCounter.WithLabelValues(v)))
	}
	// Output:
	// success 1
	// fail 1
}

// A StatusFunc finds failures that a handler reports in its response rather
// than as an error. It sees only responses of calls that returned no error.
func ExampleWithStatus() {
	m, methods := docMilvus()
	ic, err := interceptor.NewMilvusCounters(methods)
	if err != nil {
		panic(err)
	}
	icpt := docInstall(interceptor.ServerSets{Milvus: ic}, interceptor.WithStatus(func(resp any) bool {
		r, ok := resp.(*milvuspb.BoolResponse)
		return ok && r.GetStatus().GetErrorCode() != commonpb.ErrorCode_Success
	})).UnaryServerInterceptor()
	const hasCollection = "/milvus.proto.milvus.MilvusService/HasCollection"
	failing := &milvuspb.BoolResponse{Status: &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError}}
	docCall(icpt, context.Background(), hasCollection, &milvuspb.HasCollectionRequest{}, failing, nil)
	fmt.Println(testutil.ToFloat64(m.Proxy.HasCollectionCounter.WithLabelValues(registry.FailLabel)))
	// Output:
	// 1
}

// A ClientIDFunc names the client of a call on client-labelled (RootCoord)
// routes, here from the call's metadata rather than the request's SourceID.
// [interceptor.Label] values are exported as they are; the zero ClientID is
// client_unknown.
func ExampleWithClientID() {
	m, methods := docMilvus()
	ic, err := interceptor.NewMilvusCounters(methods, interceptor.WithClientID(func(ctx context.Context, _ any) interceptor.ClientID {
		if v := metadata.ValueFromIncomingContext(ctx, "x-client"); len(v) == 1 {
			return interceptor.Label(v[0])
		}
		return interceptor.ClientID{}
	}))
	if err != nil {
		panic(err)
	}
	icpt := docInstall(interceptor.ServerSets{Milvus: ic}).UnaryServerInterceptor()
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-client", "indexer"))
	const hasCollection = "/milvus.proto.rootcoord.RootCoord/HasCollection"
	docCall(icpt, ctx, hasCollection, &milvuspb.HasCollectionRequest{}, &milvuspb.BoolResponse{}, nil)
	docCall(icpt, context.Background(), hasCollection, &milvuspb.HasCollectionRequest{}, &milvuspb.BoolResponse{}, nil)
	for _, client := range []string{"indexer", registry.UnknownClientLabel} {
		fmt.Println(client, testutil.ToFloat64(m.RootCoord.HasCollectionCounter.WithLabelValues(client, registry.TotalLabel)))
	}
	// Output:
	// indexer 1
	// client_unknown 1
}

// WithClientLimit bounds the client_id values kept; calls of further
// clients count under client_overflow, and in
// grpcmetrics_client_id_overflow_total.
func ExampleWithClientLimit() {
	m, methods := docMilvus()
	ic, err := interceptor.NewMilvusCounters(methods, interceptor.WithClientLimit(1))
	if err != nil {
		panic(err)
	}
	icpt := docInstall(interceptor.ServerSets{Milvus: ic}).UnaryServerInterceptor()
	const hasCollection = "/milvus.proto.rootcoord.RootCoord/HasCollection"
	for _, id := range []int64{1, 2} {
		req := &milvuspb.HasCollectionRequest{Base: &commonpb.MsgBase{SourceID: id}}
		docCall(icpt, context.Background(), hasCollection, req, &milvuspb.BoolResponse{}, nil)
	}
	for _, client := range []string{"client_1", registry.OverflowClientLabel} {
		fmt.Println(client, testutil.ToFloat64(m.RootCoord.HasCollectionCounter.WithLabelValues(client, registry.TotalLabel)))
	}
	// Output:
	// client_1 1
	// client_overflow 1
}

// WithLogger receives the rare events: here a status rule that panics. The
// call is counted as fail, and the handler's answer still reaches the
// caller.
func ExampleWithLogger() {
	m, methods := docMilvus()
	logger := zap.NewExample()
	ic, err := interceptor.NewMilvusCounters(methods)
	if err != nil {
		panic(err)
	}
	icpt := docInstall(interceptor.ServerSets{Milvus: ic}, interceptor.WithLogger(logger),
		interceptor.WithStatus(func(any) bool { panic("a bug in the rule") })).UnaryServerInterceptor()
	const hasCollection = "/milvus.proto.milvus.MilvusService/HasCollection"
	docCall(icpt, context.Background(), hasCollection, &milvuspb.HasCollectionRequest{}, &milvuspb.BoolResponse{}, nil)
	fmt.Println(testutil.ToFloat64(m.Proxy.HasCollectionCounter.WithLabelValues(registry.FailLabel)))
	// Output:
	// {"level":"error","msg":"grpcmetrics: the outcome rule panicked; counting the call as fail","method":"/milvus.proto.milvus.MilvusService/HasCollection","panic":"a bug in the rule"}
	// 1
}

// WithHistogram turns on the latency histogram, here with native buckets
// beside the classic ones and an exemplar that carries the call's trace ID
// (from the context; a tracing library's span context in a real server).
func ExampleWithHistogram() {
	type traceKey struct{}
	sm, err := interceptor.NewServerMetrics()
	if err != nil {
		panic(err)
	}
	install := docInstall(interceptor.ServerSets{Provider: sm}, interceptor.WithHistogram(interceptor.Histogram{
		// Buckets: nil means interceptor.DefaultBuckets(), 100µs to 30s.
		NativeBucketFactor: 1.1, // also a native histogram, for a Prometheus that reads them
		NativeMaxBuckets:   160,
		Exemplar: &interceptor.Exemplar{
			Label: "trace_id",
			Value: func(ctx context.Context) string {
				id, _ := ctx.Value(traceKey{}).(string) // "": no exemplar
				return id
			},
		},
	}))
	reg := prometheus.NewRegistry()
	if err := install.Register(reg); err != nil {
		panic(err)
	}
	ctx := context.WithValue(context.Background(), traceKey{}, "4bf92f3577b34da6a3ce929d0e0e4736")
	docCall(install.UnaryServerInterceptor(), ctx, "/milvus.proto.milvus.MilvusService/HasCollection", nil, nil, nil)
	n, err := testutil.GatherAndCount(reg, "grpc_server_handling_seconds")
	fmt.Println(n, err)
	// Output:
	// 1 <nil>
}

// WithInitialSeries makes Init create every method's series at zero, so
// that rate() and absent() work from the first scrape.
func ExampleWithInitialSeries() {
	sm, err := interceptor.NewServerMetrics(interceptor.WithInitialSeries())
	if err != nil {
		panic(err)
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm})
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	if err := install.Register(reg); err != nil {
		panic(err)
	}
	srv := grpc.NewServer(install.ServerOptions()...)
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "example.Echo",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Echo"}},
	}, struct{}{})
	if err := install.Init(srv); err != nil {
		panic(err)
	}
	n, err := testutil.GatherAndCount(reg, "grpc_server_handled_total")
	fmt.Println(n, err) // one series per code
	// Output:
	// 17 <nil>
}

// Invalid options are an error from the constructor that names each one.
func ExampleNewMilvusCounters_invalidOptions() {
	_, methods := docMilvus()
	_, err := interceptor.NewMilvusCounters(methods,
		interceptor.WithClientLimit(0),
		interceptor.WithOutcome("/no.Such/Method", func(any, error) interceptor.Outcome { return interceptor.Default }),
	)
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Println(line)
	}
	fmt.Println(errors.Unwrap(err) != nil)
	// Output:
	// interceptor: WithOutcome: /no.Such/Method is not in the method map
	// WithClientLimit: 0 is out of range [1, 1048576]
	// true
}
