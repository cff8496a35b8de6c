// Command demo runs a Milvus-shaped proxy, rootcoord and data node with the
// grpcmetrics interceptor, sends them a realistic mix of calls from two
// clients, prints the resulting counters as a table and keeps serving /metrics until it
// is interrupted (or for -duration).
//
//	go run ./examples/demo
//	curl -s localhost:9091/metrics | grep milvus_rootcoord_create_collection_total
//
// The gRPC servers register server reflection, so grpcurl and ghz reach them
// without .proto files. -proxy-addr, -rootcoord-addr and -datanode-addr set
// their listen addresses (by default any free loopback port; the demo prints
// the ones it got), -metrics-addr the /metrics endpoint's:
//
//	go run ./examples/demo -proxy-addr 127.0.0.1:19530 -rootcoord-addr 127.0.0.1:53100
//	grpcurl -plaintext 127.0.0.1:53100 list
//
// With -steady the demo keeps sending a mix of successes, failing statuses,
// gRPC errors and the odd handler panic, from four clients, one call every
// -steady-interval, until it stops, so rates and dashboards have something
// to show; each round of the mix calls every method of the Milvus table.
// -client-limit 2 makes two of the four clients count as client_overflow:
//
//	go run ./examples/demo -steady -metrics-addr 127.0.0.1:9091 -duration 2m
//	go run ./examples/demo -steady -client-limit 2
//
// The table of counters comes first. The servers' logs (a line per call,
// and the stacks of the panics the demo provokes on purpose) show only with
// -v:
//
//	go run ./examples/demo -v -duration 1s
//
// Each server counts its calls into every metric set at once, through one
// interceptor.Server: Milvus v2.0's counters, the provider's families (with
// a bounded tenant label from the x-tenant metadata, the calls in flight,
// and the code on the latency histogram), gRPC's own metrics (A66) and
// Milvus 2.6's request counters. -sets picks some of them:
//
//	go run ./examples/demo -sets provider,a66
//
// Each server's sets are registered with a server label ("proxy",
// "rootcoord", "datanode"); Milvus v2.0's counters, once, without it.
//
// No handler of any server makes a metric call: every count comes from the
// interceptors.
package main
