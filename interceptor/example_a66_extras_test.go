package interceptor_test

import (
	"context"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// gRPC's own metrics with the in-flight gauges and a tenant label that
// the client sends in its metadata: the server reads it from the incoming
// metadata, the client from the outgoing. At most two tenants are kept;
// the third counts under "overflow", and in the overflow counter once per
// side (the server's and the client's, here in one A66).
func ExampleNewA66_inFlightAndContextLabels() {
	tenant := func(ctx context.Context) []string {
		md, ok := metadata.FromIncomingContext(ctx) // on the server
		if !ok {
			md, _ = metadata.FromOutgoingContext(ctx) // on the client
		}
		if v := md.Get("tenant"); len(v) > 0 {
			return v[:1]
		}
		return []string{""}
	}
	a, err := interceptor.NewA66(
		interceptor.WithInFlight(),
		interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: tenant, Limit: 2}),
	)
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(grpc.StatsHandler(a.ServerStatsHandler()))
	testpb.RegisterTestServiceServer(srv, axService{})
	if err := a.Init(srv); err != nil {
		panic(err)
	}
	lis := bufconn.Listen(1 << 20)
	go func() {
		if err := srv.Serve(lis); err != nil {
			panic(err)
		}
	}()
	cc, err := grpc.NewClient("passthrough:///bufnet", append(a.DialOptions(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		panic(err)
	}
	client := testpb.NewTestServiceClient(cc)
	for _, t := range []string{"acme", "acme", "globex", "initech"} {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "tenant", t)
		if _, err := client.EmptyCall(ctx, &testpb.Empty{}); err != nil {
			panic(err)
		}
	}
	if err := cc.Close(); err != nil {
		panic(err)
	}
	srv.GracefulStop()

	text, err := testutil.CollectAndFormat(a, expfmt.TypeTextPlain, "grpc_server_call_started_total", "grpc_server_call_in_flight", "grpcmetrics_a66_context_labels_overflow_total")
	if err != nil {
		panic(err)
	}
	fmt.Print(string(text))
	// Output:
	// # HELP grpc_server_call_in_flight Number of server calls whose handler is running.
	// # TYPE grpc_server_call_in_flight gauge
	// grpc_server_call_in_flight{grpc_method="grpc.testing.TestService/EmptyCall",tenant="acme"} 0
	// grpc_server_call_in_flight{grpc_method="grpc.testing.TestService/EmptyCall",tenant="globex"} 0
	// grpc_server_call_in_flight{grpc_method="grpc.testing.TestService/EmptyCall",tenant="overflow"} 0
	// # HELP grpc_server_call_started_total Number of server calls started.
	// # TYPE grpc_server_call_started_total counter
	// grpc_server_call_started_total{grpc_method="grpc.testing.TestService/EmptyCall",tenant="acme"} 2
	// grpc_server_call_started_total{grpc_method="grpc.testing.TestService/EmptyCall",tenant="globex"} 1
	// grpc_server_call_started_total{grpc_method="grpc.testing.TestService/EmptyCall",tenant="overflow"} 1
	// # HELP grpcmetrics_a66_context_labels_overflow_total Total number of RPCs counted with every context label set to "overflow".
	// # TYPE grpcmetrics_a66_context_labels_overflow_total counter
	// grpcmetrics_a66_context_labels_overflow_total 2
}
