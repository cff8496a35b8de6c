// Package grpcmetrics is the root of a library that counts gRPC calls into
// Milvus's Prometheus counters without a single metric call in any handler.
//
// The work is done by its packages:
//   - [github.com/grpcmetrics/grpcmetrics/registry]: the seed's 55 collectors,
//     per-component registration, gauge setters;
//   - [github.com/grpcmetrics/grpcmetrics/methodmap]: full gRPC method names to
//     counters, with the built-in Milvus table;
//   - [github.com/grpcmetrics/grpcmetrics/interceptor]: the unary server
//     interceptor, and a service registrar that counts the same calls
//     without being an interceptor;
//   - [github.com/grpcmetrics/grpcmetrics/httpserver]: the /metrics server.
//
// This package holds no code; its tests are the end-to-end suite over
// bufconn, the concurrency test and the real-Prometheus test. See README.md
// for wiring, label semantics and the metric table.
package grpcmetrics
