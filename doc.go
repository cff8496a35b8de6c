// Package grpcmetrics is the root of a library that counts gRPC calls into
// Milvus's Prometheus counters without a single metric call in any handler.
//
// The work is done by its packages:
//   - [github.com/grpcmetrics/grpcmetrics/registry]: the seed's 55 collectors,
//     per-component registration, gauge setters;
//   - [github.com/grpcmetrics/grpcmetrics/methodmap]: full gRPC method names to
//     counters, with the built-in Milvus table;
//   - [github.com/grpcmetrics/grpcmetrics/interceptor]: the unary server
//     interceptor, with one option per concern (status rule, client rule,
//     per-method outcomes);
//   - [github.com/grpcmetrics/grpcmetrics/httpserver]: the /metrics server.
//
// This package holds no code; its tests are the end-to-end suite over
// bufconn, the concurrency test and the real-Prometheus test. See README.md
// for label semantics and the metric table, and its "Wiring" section (the
// program [github.com/grpcmetrics/grpcmetrics/examples/wiring]) for a complete
// server.
package grpcmetrics
