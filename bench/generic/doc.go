// Package generic benchmarks grpcmetrics' generic mode (ServerMetrics and
// ClientMetrics), the Milvus Interceptor with its histogram, and their
// streams against go-grpc-middleware's prometheus provider, each
// configured the same way, in one run. Every interceptor is
// called directly, with a no-op handler, invoker or stream, so the numbers
// are the interceptors' own cost. Run:
//
//	cd bench && go test -run '^$' -bench 'Generic' -count 10 -benchmem ./generic/
package generic
