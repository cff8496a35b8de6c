package milvus26

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// Example_everySet counts a milvus-proto v2.6 MilvusService into every
// metric set at once, Milvus v2.0's counters, the provider's families,
// Milvus 2.6's request counters and gRPC's own metrics, from one server
// install, and a client of it into the provider's client families and
// gRPC's own client side, from one client install; /metrics is served in
// OpenMetrics. docs/wiring.md shows this function's body.
func Example_everySet() {
	reg := prometheus.NewRegistry()
	m := registry.New() // Milvus v2.0's collectors
	if err := m.Register(reg); err != nil {
		log.Fatal(err)
	}
	methods, err := methodmap.Default(m)
	if err != nil {
		log.Fatal(err)
	}
	milvus, err := interceptor.NewMilvusCounters(methods)
	if err != nil {
		log.Fatal(err)
	}
	provider, err := interceptor.NewServerMetrics()
	if err != nil {
		log.Fatal(err)
	}
	milvus26, err := interceptor.NewMilvus26(interceptor.WithNodeID(1))
	if err != nil {
		log.Fatal(err)
	}
	a66, err := interceptor.NewA66(interceptor.WithClientServices(&milvuspb.MilvusService_ServiceDesc))
	if err != nil {
		log.Fatal(err)
	}
	server, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: milvus, Provider: provider, Milvus26: milvus26, A66: a66},
		interceptor.WithHistogram(interceptor.Histogram{})) // the default status rule reads Milvus's statuses

	if err != nil {
		log.Fatal(err)
	}
	if err := server.Register(reg); err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor()), // outside: the sets count a panic first
	}, server.ServerOptions()...)...)
	milvuspb.RegisterMilvusServiceServer(srv, mmExampleProxy{set: milvus26})
	if err := server.Init(srv); err != nil { // after registering the services, before serving
		log.Fatal(err)
	}

	clientMetrics, err := interceptor.NewClientMetrics()
	if err != nil {
		log.Fatal(err)
	}
	client, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: clientMetrics, A66: a66})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Register(reg); err != nil {
		log.Fatal(err)
	}
	metrics, err := httpserver.New(reg, httpserver.Options{Addr: "127.0.0.1:0", OpenMetrics: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := metrics.Start(); err != nil {
		log.Fatal(err)
	}
	defer metrics.Shutdown(context.Background()) //nolint:errcheck // the example ends

	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)                                                                  //nolint:errcheck // ends with GracefulStop
	conn, err := grpc.NewClient("passthrough:///bufconn", append(client.DialOptions(), // once per connection
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := milvuspb.NewMilvusServiceClient(conn).HasCollection(context.Background(), &milvuspb.HasCollectionRequest{CollectionName: "books"}); err != nil {
		log.Fatal(err)
	}
	if err := conn.Close(); err != nil {
		log.Fatal(err)
	}
	srv.GracefulStop() // gRPC ends a call after writing its status: stop, then read

	for _, family := range []string{
		"milvus_proxy_has_collection_total", "grpc_server_handled_total", "milvus_proxy_req_count",
		"grpc_server_call_duration_seconds", "grpc_client_handled_total", "grpc_client_call_duration_seconds",
	} {
		n, err := testutil.GatherAndCount(reg, family)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(family, n)
	}
	// Output:
	// milvus_proxy_has_collection_total 3
	// grpc_server_handled_total 1
	// milvus_proxy_req_count 2
	// grpc_server_call_duration_seconds 1
	// grpc_client_handled_total 1
	// grpc_client_call_duration_seconds 1
}
