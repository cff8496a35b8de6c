package interceptor_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// The interceptor judges a call by its error and by the Milvus status in
// its response, and labels RootCoord calls with the caller's SourceID. Here
// it is called directly, as gRPC would call it.
func ExampleNew() {
	m := registry.New()
	methods, err := methodmap.Default(m)
	if err != nil {
		panic(err)
	}
	ic, err := interceptor.New(methods)
	if err != nil {
		panic(err)
	}
	icpt := ic.UnaryServerInterceptor()

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

// Registering a service through the Registrar counts its calls with no
// interceptor installed.
func ExampleInterceptor_Registrar() {
	m := registry.New()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		panic(err)
	}
	methods, err := methodmap.Default(m)
	if err != nil {
		panic(err)
	}
	ic, err := interceptor.New(methods)
	if err != nil {
		panic(err)
	}

	srv := grpc.NewServer()
	rootcoordpb.RegisterRootCoordServer(ic.Registrar(srv), rootcoord.New())
	lis := bufconn.Listen(1 << 16)
	go func() {
		if err := srv.Serve(lis); err != nil { // nil once Stop is called
			log.Print(err)
		}
	}()
	defer srv.Stop()

	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client := rootcoordpb.NewRootCoordClient(conn)
	ctx := context.Background()
	base := &commonpb.MsgBase{SourceID: 3}
	if _, err := client.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: "books"}); err != nil {
		panic(err)
	}
	// The second create fails: the collection exists. Milvus says so in the
	// response's status, not with a gRPC error.
	if _, err := client.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: "books"}); err != nil {
		panic(err)
	}

	vec := m.RootCoord.CreateCollectionCounter
	for _, call := range []string{registry.TotalLabel, registry.SuccessLabel, registry.FailLabel} {
		fmt.Printf("client_3 %s: %v\n", call, testutil.ToFloat64(vec.WithLabelValues("client_3", call)))
	}
	// Output:
	// client_3 total: 2
	// client_3 success: 1
	// client_3 fail: 1
}
