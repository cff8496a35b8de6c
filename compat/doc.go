// Package compat holds the compatibility test between grpcmetrics' generic
// mode ([github.com/grpcmetrics/grpcmetrics/interceptor.ServerMetrics] and
// [github.com/grpcmetrics/grpcmetrics/interceptor.ClientMetrics]) and
// go-grpc-middleware's prometheus provider. It is a module of its own so
// that the provider never becomes a dependency of the library.
//
// The test sends the same calls through both, each on its own bufconn
// server and client and its own registry, and requires the two expositions
// to have the same metric families, label names, label values and counts.
// Run it with:
//
//	cd compat && go test -race ./...
package compat
