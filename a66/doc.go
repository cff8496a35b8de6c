// Package a66 holds the test of grpcmetrics' gRPC A66 metric set against
// grpc-go's own OpenTelemetry plugin (google.golang.org/grpc/stats/opentelemetry)
// exported through OpenTelemetry's Prometheus exporter. It is a module of
// its own so that the OpenTelemetry SDK never becomes a dependency of the
// library.
//
// Run it with:
//
//	cd a66 && go test -race ./...
package a66
