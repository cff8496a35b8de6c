// Command grpcmetrics-gen writes grpcmetrics' Grafana dashboards and
// Prometheus rule files:
//
//	go run ./cmd/grpcmetrics-gen -out .
//
// run from the monitoring module, rewrites the checked-in
// dashboards/{milvus,generic,milvus26,milvus26-v2.6.21,a66}.json and
// rules/{milvus,generic,milvus26,milvus26-v2.6.21,a66}.rules.yml (the Milvus
// 2.6 flavour on its default release line, and on the lines with the cause
// label; a line's rule file records what milvus26.rules.yml records, under
// the same grpcmetrics_flavour="milvus26", and more, so it replaces that
// file: load one of the two). The milvus flavour is generated
// from the built-in Milvus route table (registry.New and methodmap.Default);
// the generic flavour from the metric names of go-grpc-middleware's
// prometheus provider; the milvus26 flavour from Milvus 2.6's request
// counter milvus_proxy_req_count and latency histogram
// milvus_proxy_req_latency; the a66 flavour from gRPC's own metrics (gRFC
// A66), grpc_server_call_duration_seconds and the client's.
//
// Flags:
//
//	-out DIR          directory to write dashboards/ and rules/ under (default ".")
//	-flavour NAME     milvus, generic, milvus26, a66 or all (default all)
//	-objective F      availability objective of the burn-rate alerts (default 0.999)
//	-error-ratio F    per-method error ratio that alerts (default 0.05)
//	-milvus-job NAME  job the milvus rules are restricted to (default: every job)
//	-generic-job NAME job the generic rules are restricted to (default: every job)
//	-milvus26-job NAME job the milvus26 rules are restricted to (default: every job)
//	-a66-job NAME     job the a66 rules are restricted to (default: every job)
//	-replica-label L  labels that tell apart the replicas of a highly
//	                  available pair, such as replica: each instance counts once
//	-milvus26-line L  release line of the servers' Milvus 2.6 set, with -flavour milvus26:
//	                  v2.6.16 (default), v2.6.20 or v2.6.21
//	-latency          add the latency panels (default true)
//	-context-label L  context labels of the generic and a66 flavours, comma-separated
//
// Every query it writes is checked against the label contract of the
// metric sets: one on a label or a label value that no set writes is an
// error.
package main
