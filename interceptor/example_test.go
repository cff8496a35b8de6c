package interceptor_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// The interceptor judges a call by its error and by the Milvus status in
// its response, and labels RootCoord calls with the caller's SourceID. Here
// it is called directly, as gRPC would call it.
func ExampleNewMilvusCounters() {
	m := registry.New()
	if err := m.Register(prometheus.NewRegistry()); err != nil {
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
	icpt := docInstall(interceptor.ServerSets{Milvus: ic}).UnaryServerInterceptor()

	info := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.rootcoord.RootCoord/DescribeCollection"}
	req := &milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: 7}, CollectionName: "books"}
	notFound := func(context.Context, any) (any, error) {
		return &milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{
			ErrorCode: commonpb.ErrorCode_CollectionNotExists,
		}}, nil
	}
	if _, err := icpt(context.Background(), req, info, notFound); err != nil {
		panic(err)
	}

	vec := m.RootCoord.DescribeCollectionCounter
	for _, call := range []string{registry.TotalLabel, registry.SuccessLabel, registry.FailLabel} {
		fmt.Printf("client_7 %s: %v\n", call, testutil.ToFloat64(vec.WithLabelValues("client_7", call)))
	}
	// Output:
	// client_7 total: 1
	// client_7 success: 0
	// client_7 fail: 1
}

// With the caller's generated types at hand, the typed helpers replace the
// default rules: a type switch instead of reflection.
func ExampleMilvusStatus() {
	m := registry.New()
	if err := m.Register(prometheus.NewRegistry()); err != nil {
		panic(err)
	}
	methods, err := methodmap.Default(m)
	if err != nil {
		panic(err)
	}
	ic, err := interceptor.NewMilvusCounters(methods,
		interceptor.WithClientID(interceptor.MilvusSourceID[*commonpb.MsgBase]()))
	if err != nil {
		panic(err)
	}
	icpt := docInstall(interceptor.ServerSets{Milvus: ic},
		interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]())).UnaryServerInterceptor()

	info := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.rootcoord.RootCoord/HasCollection"}
	req := &milvuspb.HasCollectionRequest{Base: &commonpb.MsgBase{SourceID: 3}}
	ok := func(context.Context, any) (any, error) {
		return &milvuspb.BoolResponse{Status: &commonpb.Status{}, Value: true}, nil
	}
	if _, err := icpt(context.Background(), req, info, ok); err != nil {
		panic(err)
	}
	fmt.Println(testutil.ToFloat64(m.RootCoord.HasCollectionCounter.WithLabelValues("client_3", registry.SuccessLabel)))
	// Output:
	// 1
}

// Register registers the install's metrics; a second install of other
// sets with the same metrics on the same registry is an error that says
// so, and a set given to a second install is an error where it is given.
func ExampleServerInstall_Register() {
	reg := prometheus.NewRegistry()
	newCounters := func() *interceptor.MilvusCounters {
		_, methods := docMilvus() // the Milvus counters, on a registry of their own
		ic, err := interceptor.NewMilvusCounters(methods)
		if err != nil {
			panic(err)
		}
		return ic
	}
	ic := newCounters()
	first, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic})
	if err != nil {
		panic(err)
	}
	fmt.Println(first.Register(reg))
	fmt.Println(first.Register(reg))
	second, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: newCounters()})
	if err != nil {
		panic(err)
	}
	fmt.Println(second.Register(reg) != nil)
	_, err = interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic})
	fmt.Println(err)
	// Output:
	// <nil>
	// <nil>
	// true
	// interceptor: NewServerInstall: ServerSets.Milvus belongs to another install already: a set counts into one install, so that no call is counted twice
}
