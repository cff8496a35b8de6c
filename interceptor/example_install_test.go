package interceptor_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// A ServerInstall counts each call into Milvus v2.0's counters and the provider's
// families at once, with one latency histogram for both. Here its
// interceptor is called directly, as gRPC would call it.
func ExampleNewServerInstall() {
	reg := prometheus.NewRegistry()
	m := registry.New()
	if err := m.Register(reg); err != nil {
		panic(err)
	}
	methods, err := methodmap.Default(m)
	if err != nil {
		panic(err)
	}
	ic, err := interceptor.NewMilvusCounters(methods)
	if err != nil {
		panic(err)
	}
	sm, err := interceptor.NewServerMetrics()
	if err != nil {
		panic(err)
	}
	both, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic, Provider: sm},
		interceptor.WithHistogram(interceptor.Histogram{}))
	if err != nil {
		panic(err)
	}
	if err := both.Register(reg); err != nil {
		panic(err)
	}
	srv := grpc.NewServer(both.ServerOptions()...)
	rootcoordpb.RegisterRootCoordServer(srv, rootcoordpb.UnimplementedRootCoordServer{})
	if err := both.Init(srv); err != nil {
		panic(err)
	}

	icpt := both.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.rootcoord.RootCoord/CreateCollection"}
	req := &milvuspb.CreateCollectionRequest{Base: &commonpb.MsgBase{SourceID: 7}}
	handler := func(context.Context, any) (any, error) { return &commonpb.Status{}, nil }
	if _, err := icpt(context.Background(), req, info, handler); err != nil {
		panic(err)
	}
	fmt.Println(testutil.ToFloat64(m.RootCoord.CreateCollectionCounter.WithLabelValues("client_7", registry.SuccessLabel)))
	n, err := testutil.GatherAndCount(reg, "grpc_server_handled_total", "grpc_server_handling_seconds")
	if err != nil {
		panic(err)
	}
	fmt.Println(n)
	// Output:
	// 1
	// 2
}
