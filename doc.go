// Package grpcmetrics is the root of a library that counts gRPC calls into
// Prometheus without a single metric call in any handler: into Milvus's own
// counters, or, for any service and for clients, under the metric names of
// go-grpc-middleware's prometheus provider.
//
// The work is done by its packages:
//   - [github.com/grpcmetrics/grpcmetrics/registry]: Milvus v2.0's 55 collectors,
//     per-component registration, gauge setters;
//   - [github.com/grpcmetrics/grpcmetrics/methodmap]: full gRPC method names to
//     counters, with the built-in Milvus table;
//   - [github.com/grpcmetrics/grpcmetrics/interceptor]: one engine that sees
//     each call once, and the metric sets it fills: the Milvus v2.0
//     counters, ServerMetrics and ClientMetrics under go-grpc-middleware's
//     names, Milvus 2.6's request counters (Milvus26) and gRPC's own
//     metrics (A66), alone or several on one server (NewServer), with
//     opt-in latency and one option per concern;
//   - [github.com/grpcmetrics/grpcmetrics/httpserver]: the /metrics server.
//
// This package holds no code; its tests are the end-to-end suites over
// bufconn (every Milvus route, every kind of call), the concurrency test and
// the real-Prometheus tests (one server, three instances, an agent writing to
// a central server), and the tests of the documentation. Its examples are
// the snippets of the README and docs/: the three ways in (Milvus v2.0's
// counters, any service, a client), go-grpc-middleware's selector, switching
// from the provider, a Milvus newer than v2.0, and exemplars.
// Label values, streams, latency and clients are described in the
// interceptor package; docs/wiring.md and the program
// [github.com/grpcmetrics/grpcmetrics/examples/wiring] show a complete
// server.
package grpcmetrics
