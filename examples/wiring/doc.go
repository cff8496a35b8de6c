// Command wiring is the complete server of docs/wiring.md, kept here so that
// it is compiled, vetted and run by the tests (the repository's docs_test.go
// checks that docs/wiring.md shows this file byte for byte).
//
// It serves the example Milvus root coordinator
// ([github.com/grpcmetrics/grpcmetrics/examples/rootcoord]) over gRPC with
// the grpcmetrics interceptor installed inside go-grpc-middleware's
// recovery, checks at start that the method map and the server agree, and
// serves the counters on /metrics until it is interrupted (or for
// -duration):
//
//	go run ./examples/wiring -grpc-addr 127.0.0.1:53100 -metrics-addr 127.0.0.1:9091
//	curl -s 127.0.0.1:9091/metrics | grep milvus_rootcoord_
//
// A handler panic is logged server-side, with its stack, and the client
// sees only codes.Internal "internal error".
package main
