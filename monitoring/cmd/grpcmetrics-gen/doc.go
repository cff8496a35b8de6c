// Command grpcmetrics-gen writes grpcmetrics' Grafana dashboards and
// Prometheus rule files:
//
//	go run ./cmd/grpcmetrics-gen -out .
//
// run from the monitoring module, rewrites the checked-in
// dashboards/{milvus,generic}.json and rules/{milvus,generic}.rules.yml.
// The milvus flavour is generated from the built-in Milvus route table
// (registry.New and methodmap.Default); the generic flavour from the metric
// names of go-grpc-middleware's prometheus provider.
//
// Flags:
//
//	-out DIR          directory to write dashboards/ and rules/ under (default ".")
//	-flavour NAME     milvus, generic or all (default all)
//	-objective F      availability objective of the burn-rate alerts (default 0.999)
//	-error-ratio F    per-method error ratio that alerts (default 0.05)
//	-milvus-job NAME  job label the milvus rules select (default milvus)
//	-generic-job NAME job label the generic rules select (default grpc)
//	-latency          add the latency panels (default true)
package main
