package interceptor_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// ServerMetrics counts any service under the provider's metric names. Here
// its install's interceptor is called directly, as gRPC would call it.
func ExampleNewServerMetrics() {
	sm, err := interceptor.NewServerMetrics()
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
	healthpb.RegisterHealthServer(srv, health.NewServer())
	if err := install.Init(srv); err != nil { // after registering, before serving
		panic(err)
	}

	icpt := install.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"}
	notFound := func(context.Context, any) (any, error) {
		return nil, grpcstatus.Error(codes.NotFound, "no such service")
	}
	if _, err := icpt(context.Background(), &healthpb.HealthCheckRequest{}, info, notFound); err == nil {
		panic("want the handler's error")
	}
	err = testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or failure.
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="NotFound",grpc_method="Check",grpc_service="grpc.health.v1.Health",grpc_type="unary"} 1
`), "grpc_server_handled_total")
	fmt.Println(err)
	// Output:
	// <nil>
}

// ClientMetrics counts a client's calls, and the response-body rule finds
// failures that gRPC reports as OK.
func ExampleNewClientMetrics() {
	cm, err := interceptor.NewClientMetrics()
	if err != nil {
		panic(err)
	}
	install, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm}, interceptor.WithStatus(func(resp any) bool {
		r, ok := resp.(*healthpb.HealthCheckResponse)
		return ok && r.GetStatus() != healthpb.HealthCheckResponse_SERVING
	}))
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	if err := install.Register(reg); err != nil {
		panic(err)
	}
	notServing := func(_ context.Context, _ string, _, reply any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		reply.(*healthpb.HealthCheckResponse).Status = healthpb.HealthCheckResponse_NOT_SERVING
		return nil
	}
	reply := &healthpb.HealthCheckResponse{}
	if err := install.UnaryClientInterceptor()(context.Background(), "/grpc.health.v1.Health/Check", &healthpb.HealthCheckRequest{}, reply, nil, notServing); err != nil {
		panic(err)
	}
	err = testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP grpcmetrics_client_response_failed_total Total number of RPCs completed by the client with code OK whose response carried a failing status.
# TYPE grpcmetrics_client_response_failed_total counter
grpcmetrics_client_response_failed_total{grpc_method="Check",grpc_service="grpc.health.v1.Health",grpc_type="unary"} 1
`), "grpcmetrics_client_response_failed_total")
	fmt.Println(err)
	// Output:
	// <nil>
}
