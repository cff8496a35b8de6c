package a66

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// Example_install counts a server's and a client's calls into gRPC's own
// metrics: the set's server side in a server install, its client side in
// a client install.
func Example_install() {
	set, err := interceptor.NewA66()
	if err != nil {
		log.Fatal(err)
	}
	server, err := interceptor.NewServerInstall(interceptor.ServerSets{A66: set})
	if err != nil {
		log.Fatal(err)
	}
	client, err := interceptor.NewClientInstall(interceptor.ClientSets{A66: set})
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := server.Register(reg); err != nil { // the set's families, both sides'
		log.Fatal(err)
	}
	srv := grpc.NewServer(server.ServerOptions()...)
	testpb.RegisterTestServiceServer(srv, &arService{})
	if err := server.Init(srv); err != nil { // after registering, before serving
		log.Fatal(err)
	}

	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis) //nolint:errcheck // ends with GracefulStop
	// The client side: DialOptions once per connection.
	dial := append(client.DialOptions(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	conn, err := grpc.NewClient("passthrough:///bufconn", dial...)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := testpb.NewTestServiceClient(conn).UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		log.Fatal(err)
	}
	if err := conn.Close(); err != nil {
		log.Fatal(err)
	}
	srv.GracefulStop() // gRPC ends a call after writing its status: stop, then read

	n, err := testutil.GatherAndCount(reg, "grpc_server_call_duration_seconds", "grpc_client_call_duration_seconds")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "series")
	// Output: 2 series
}
