// Command demo runs a Milvus-shaped proxy and rootcoord server with the
// grpcmetrics interceptor, sends them a realistic mix of calls from two
// clients, prints the resulting counters and keeps serving /metrics until it
// is interrupted (or for -duration).
//
//	go run ./examples/demo
//	curl -s localhost:9091/metrics | grep milvus_rootcoord_create_collection_total
//
// No handler of either server makes a metric call: every count comes from the
// interceptor.
package main
