// Package bench benchmarks the grpcmetrics interceptor against other gRPC
// Prometheus interceptors. It is a separate module, so the competitors are
// never dependencies of the library. See BENCHMARKS.md at the repository root.
package bench
