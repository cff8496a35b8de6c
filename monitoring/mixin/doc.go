// Package mixin generates a Grafana dashboard and Prometheus recording and
// alerting rules for servers instrumented with grpcmetrics, in one of four
// flavours:
//
//   - [Milvus]: Milvus v2.0's per-method counters of the built-in Milvus table
//     (one metric name per method, the call label in "status" or "type",
//     "client_id" on RootCoord counters), described by [Route] values that
//     [MilvusRoutes] derives from a [methodmap.Map];
//   - [Generic]: the names of go-grpc-middleware's prometheus provider
//     (grpc_server_started_total, grpc_server_handled_total with grpc_code,
//     grpc_server_handling_seconds) plus grpcmetrics' own
//     grpcmetrics_server_response_failed_total, so one set of rules serves
//     any service;
//   - [Milvus26]: Milvus 2.6's milvus_proxy_req_count (every method under one
//     name, the method in function_name, status total when a call starts and
//     success, fail, retry or rejected when it ends, by db_name and
//     collection_name) and its latency histograms milvus_proxy_req_latency
//     and milvus_proxy_grpc_latency, in milliseconds, as the interceptor
//     package's Milvus 2.6 metric set writes them on the release line of
//     [Config.Milvus26Line]; on the lines with the cause label, the failures
//     and the error ratio by cause too;
//   - [A66]: gRPC's own metrics (gRFC A66), as the interceptor package's A66
//     set and grpc-go's OpenTelemetry plugin write them: the server's
//     grpc_server_call_duration_seconds by grpc_method and grpc_status (a
//     call counts when it ends; there is no started-and-finished pair of
//     counters) and the client's call and attempt metrics.
//
// Every flavour records the same series, so the dashboards and alerts above
// the first level of rules are identical:
//
//	instance_method:grpcmetrics_requests:rate5m     calls started per second
//	instance_method:grpcmetrics_handled:rate5m      calls finished per second
//	instance_method:grpcmetrics_failed:rate5m       calls failed per second
//	instance_method:grpcmetrics_error_ratio:rate5m  failed / finished, per method and instance
//	method:grpcmetrics_error_ratio:rate5m           failed / finished, per method
//	job:grpcmetrics_error_ratio:rate{5m,30m,1h,6h}  failed / finished, per job
//
// The rules select the flavour's series by metric name in every job (or in
// [Config.Job] alone), and every recorded series carries [FlavourLabel], so
// one scrape job of an endpoint that serves every metric set feeds every
// flavour without the four files' series colliding. [Config.ReplicaLabels]
// makes the first-level rules count each instance once when a highly
// available pair writes two copies of it to one store.
//
// The per-method series carry job, instance, grpc_service and grpc_method
// (function_name instead of the last two in the Milvus 2.6 flavour,
// grpc_method alone in the A66 flavour, where the request rate is the
// finished calls' rate too). In
// the Milvus flavour every method has its own counter, and Prometheus 2 cannot
// take the rate of several metric names in one expression (the results would
// share a label set), so each route gets its own first-level rules, with its
// service and method as static labels. The long burn-rate windows are
// averages of the recorded 5m rates (sum_over_time of the failed rate over
// sum_over_time of the finished rate), which keeps the Milvus file at three
// rules per route.
//
// An error is a call that returned a gRPC error (any grpc_code but OK), that
// panicked, or whose response carried a failing status: in the Milvus
// flavour the counters' "fail" value, in the generic flavour
// grpc_code != "OK" or grpcmetrics_server_response_failed_total. In the
// Milvus 2.6 flavour a call has failed under status fail, retry or rejected:
// a retry (a rate limit, or a stale schema) is a call the client must make
// again, so it spends error budget; the dashboard shows the retry and
// rejected rates apart. In the A66 flavour a call has failed when its
// grpc_status is not OK.
//
// The dashboards also show the calls that the job's own processes make,
// counted by the interceptor package's ClientMetrics under the provider's
// client names (in the A66 flavour, by gRPC's own client metrics:
// [A66ClientCallDurationCount], [A66ClientAttemptStartedTotal],
// [A66ClientCallDurationBucket]) ([ClientStartedTotal], [ClientHandledTotal],
// [ClientResponseFailedTotal], [ClientHandlingSecondsBucket]); those panels
// read the counters directly, with no recording rule.
//
// Generation is deterministic: the same [Config] gives the same bytes.
package mixin
