package interceptor_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
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
	tenantOf := func(md metadata.MD) []string {
		if v := md.Get("tenant"); len(v) > 0 {
			return v[:1]
		}
		return []string{""}
	}
	a, err := interceptor.NewA66(
		interceptor.WithInFlight(),
		interceptor.WithA66ContextLabels(interceptor.A66ContextLabels{
			Names: []string{"tenant"},
			Server: func(ctx context.Context) []string {
				md, _ := metadata.FromIncomingContext(ctx)
				return tenantOf(md)
			},
			Client: func(ctx context.Context) []string {
				md, _ := metadata.FromOutgoingContext(ctx)
				return tenantOf(md)
			},
			Limit: 2,
		}),
	)
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
	if err := client.Register(reg); err != nil { // A66 once: a no-op
		panic(err)
	}
	srv := grpc.NewServer(server.ServerOptions()...)
	testpb.RegisterTestServiceServer(srv, axService{})
	if err := server.Init(srv); err != nil {
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
	tc := testpb.NewTestServiceClient(cc)
	for _, t := range []string{"acme", "acme", "globex", "initech"} {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "tenant", t)
		if _, err := tc.EmptyCall(ctx, &testpb.Empty{}); err != nil {
			panic(err)
		}
	}
	if err := cc.Close(); err != nil {
		panic(err)
	}
	srv.GracefulStop()

	fmt.Print(axText(reg, "grpc_server_call_started_total", "grpc_server_call_in_flight", "grpcmetrics_a66_context_labels_overflow_total"))
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

// axText returns the families names of reg in the text format.
func axText(reg *prometheus.Registry, names ...string) string {
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	var b strings.Builder
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if slices.Contains(names, mf.GetName()) {
			if err := enc.Encode(mf); err != nil {
				panic(err)
			}
		}
	}
	return b.String()
}
