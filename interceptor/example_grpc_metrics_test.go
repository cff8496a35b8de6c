package interceptor_test

import (
	"fmt"
	"log"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/stats"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// ExampleWithGRPCMetrics turns on grpc-go's count of open connections,
// with the security level of each, in an A66 set. A metric that no
// package of the program registers (RLS's, when the program does not
// import google.golang.org/grpc/balancer/rls) is an error.
func ExampleWithGRPCMetrics() {
	set, err := interceptor.NewA66(interceptor.WithGRPCMetrics(interceptor.GRPCMetrics{
		Metrics:        stats.NewMetricSet("grpc.subchannel.open_connections"),
		OptionalLabels: []string{"grpc.security_level"},
	}))
	if err != nil {
		log.Fatal(err)
	}
	client, err := interceptor.NewClientInstall(interceptor.ClientSets{A66: set})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Register(prometheus.NewRegistry()); err != nil {
		log.Fatal(err)
	}
	// Install client.DialOptions() on each connection: its stats handler
	// receives the values grpc-go records.

	_, err = interceptor.NewA66(interceptor.WithGRPCMetrics(interceptor.GRPCMetrics{
		Metrics: stats.NewMetricSet("grpc.lb.rls.cache_entries"),
	}))
	fmt.Println(err)
	// Output: interceptor: NewA66: WithGRPCMetrics: metric "grpc.lb.rls.cache_entries" is not registered by grpc-go (the per-call metrics are not recorded through it; the others are registered by the package that records them, which the program must import)
}
