package interceptor_test

import (
	"context"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// gRPC's own metrics on a server and a client: one set, whose server side
// goes to a server install and client side to a client install, one call,
// and the two started counters as /metrics shows them.
func ExampleNewA66() {
	a, err := interceptor.NewA66()
	if err != nil {
		panic(err)
	}
	server, err := interceptor.NewServerInstall(interceptor.ServerSets{A66: a})
	if err != nil {
		panic(err)
	}
	client, err := interceptor.NewClientInstall(interceptor.ClientSets{A66: a})
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	if err := server.Register(reg); err != nil {
		panic(err)
	}
	if err := client.Register(reg); err != nil {
		panic(err)
	}
	srv := grpc.NewServer(server.ServerOptions()...)
	testpb.RegisterTestServiceServer(srv, axService{})
	if err := server.Init(srv); err != nil { // after registering the services, before serving
		panic(err)
	}
	lis := bufconn.Listen(1 << 20)
	go func() {
		if err := srv.Serve(lis); err != nil {
			panic(err)
		}
	}()
	cc, err := grpc.NewClient("passthrough:///bufnet", append(client.DialOptions(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		panic(err)
	}
	if _, err := testpb.NewTestServiceClient(cc).EmptyCall(context.Background(), &testpb.Empty{}); err != nil {
		panic(err)
	}
	if err := cc.Close(); err != nil {
		panic(err)
	}
	srv.GracefulStop() // grpc-go ends a call after writing its status

	fmt.Print(axText(reg, "grpc_server_call_started_total", "grpc_client_attempt_started_total"))
	// Output:
	// # HELP grpc_client_attempt_started_total Number of client call attempts started.
	// # TYPE grpc_client_attempt_started_total counter
	// grpc_client_attempt_started_total{grpc_method="grpc.testing.TestService/EmptyCall",grpc_target="passthrough:///bufnet"} 1
	// # HELP grpc_server_call_started_total Number of server calls started.
	// # TYPE grpc_server_call_started_total counter
	// grpc_server_call_started_total{grpc_method="grpc.testing.TestService/EmptyCall"} 1
}
