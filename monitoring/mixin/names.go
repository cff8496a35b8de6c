package mixin

// FlavourLabel is the label that every recorded series carries, set to
// its flavour ("milvus", "generic", "milvus26" or "a66"): every flavour
// records the same names, and one job may serve every metric set.
const FlavourLabel = "grpcmetrics_flavour"

// Names of the series the rules record. Every rule file records them, and
// the dashboards read them. Where they are by method, the Milvus 2.6
// flavour's carry function_name instead of grpc_service and grpc_method, and
// the A66 flavour's grpc_method alone.
const (
	// RequestsRate is calls started per second over 5m, by job, instance,
	// grpc_service and grpc_method (calls finished in the A66 flavour, whose
	// started counter also counts the calls of unknown methods, which never
	// finish).
	RequestsRate = "instance_method:grpcmetrics_requests:rate5m"
	// HandledRate is calls finished (succeeded or failed) per second over
	// 5m, by job, instance, grpc_service and grpc_method.
	HandledRate = "instance_method:grpcmetrics_handled:rate5m"
	// FailedRate is calls failed per second over 5m, by job, instance,
	// grpc_service and grpc_method.
	FailedRate = "instance_method:grpcmetrics_failed:rate5m"
	// ClientRequestsRate is calls started per second over 5m by job,
	// instance, client_id, grpc_service and grpc_method, for the Milvus
	// routes whose counters carry client_id.
	ClientRequestsRate = "instance_method_client:grpcmetrics_requests:rate5m"
	// InstanceMethodErrorRatio is FailedRate / HandledRate by job,
	// instance, grpc_service and grpc_method; absent where nothing
	// finished.
	InstanceMethodErrorRatio = "instance_method:grpcmetrics_error_ratio:rate5m"
	// MethodErrorRatio is FailedRate / HandledRate summed over instances,
	// by job, grpc_service and grpc_method; absent where nothing finished.
	MethodErrorRatio = "method:grpcmetrics_error_ratio:rate5m"
	// JobFailedRate is FailedRate summed by job.
	JobFailedRate = "job:grpcmetrics_failed:rate5m"
	// JobHandledRate is HandledRate summed by job.
	JobHandledRate = "job:grpcmetrics_handled:rate5m"
	// CauseFailedRate is calls failed per second over 5m (status "fail"
	// or "rejected") by job, instance, function_name, status and cause,
	// in the Milvus 2.6 flavour on the lines with the cause label.
	CauseFailedRate = "instance_method_cause:grpcmetrics_failed:rate5m"
	// MethodCauseErrorRatio is CauseFailedRate summed over instances and
	// statuses, over HandledRate summed over instances, by job,
	// function_name and cause; absent where nothing finished.
	MethodCauseErrorRatio = "method_cause:grpcmetrics_error_ratio:rate5m"
)

// JobErrorRatio returns the name of the per-job error ratio over window,
// one of [Windows].
func JobErrorRatio(window string) string {
	return "job:grpcmetrics_error_ratio:rate" + window
}

// Windows returns the windows of the per-job error ratios that the
// burn-rate alerts read.
func Windows() []string { return []string{"5m", "30m", "1h", "6h"} }

// Metrics read from the servers.
const (
	// OverflowTotal counts calls from clients beyond the interceptor's
	// client limit.
	OverflowTotal = "grpcmetrics_client_id_overflow_total"
	// ClientIDs is the number of client_id values the interceptor tracks.
	ClientIDs = "grpcmetrics_client_ids"
	// HandlingSecondsBucket is the latency histogram's buckets, labelled
	// grpc_type, grpc_service, grpc_method and le, in both flavours.
	HandlingSecondsBucket = "grpc_server_handling_seconds_bucket"
	// StartedTotal is the generic flavour's count of calls started.
	StartedTotal = "grpc_server_started_total"
	// HandledTotal is the generic flavour's count of calls finished, by
	// grpc_code.
	HandledTotal = "grpc_server_handled_total"
	// ResponseFailedTotal is the generic flavour's count of calls that
	// returned OK with a failing status in the response body.
	ResponseFailedTotal = "grpcmetrics_server_response_failed_total"
	// CallsBeforeInitTotal counts the calls that reached a server's
	// provider families before their Init.
	CallsBeforeInitTotal = "grpcmetrics_server_calls_before_init_total"
	// ServerContextLabelsOverflowTotal and ClientContextLabelsOverflowTotal
	// count the calls of the provider's families whose context-label
	// values found no room under the limit (counted under "overflow").
	ServerContextLabelsOverflowTotal = "grpcmetrics_server_context_labels_overflow_total"
	ClientContextLabelsOverflowTotal = "grpcmetrics_client_context_labels_overflow_total"
	// A66ContextLabelsOverflowTotal is the same for gRPC's own metrics.
	A66ContextLabelsOverflowTotal = "grpcmetrics_a66_context_labels_overflow_total"
	// HandlerRequestsTotal counts the requests of /metrics by HTTP code
	// (promhttp's instrumentation, which httpserver adds).
	HandlerRequestsTotal = "promhttp_metric_handler_requests_total"
)

// Metrics of the calls a job's processes make, counted by
// interceptor.ClientMetrics under go-grpc-middleware's client names, in
// either flavour. The dashboards read them directly.
const (
	// ClientStartedTotal counts calls started.
	ClientStartedTotal = "grpc_client_started_total"
	// ClientHandledTotal counts calls finished, by grpc_code.
	ClientHandledTotal = "grpc_client_handled_total"
	// ClientResponseFailedTotal counts calls that returned OK with a
	// failing status in the response body.
	ClientResponseFailedTotal = "grpcmetrics_client_response_failed_total"
	// ClientHandlingSecondsBucket is the client latency histogram's
	// buckets.
	ClientHandlingSecondsBucket = "grpc_client_handling_seconds_bucket"
)

// Metrics of the Milvus 2.6 flavour, as the interceptor package's Milvus 2.6
// metric set writes them (the first two under Milvus's own names).
const (
	// Milvus26ReqCount counts calls by node_id, function_name, status,
	// db_name and collection_name; status is one of the Milvus26Status
	// values.
	Milvus26ReqCount = "milvus_proxy_req_count"
	// Milvus26ReqLatencyBucket is the buckets of the latency histogram, in
	// milliseconds, by node_id and function_name.
	Milvus26ReqLatencyBucket = "milvus_proxy_req_latency_bucket"
	// Milvus26CollectionOverflowTotal counts calls counted under the
	// overflow (db_name, collection_name) pair because the set's collection
	// limit was reached.
	Milvus26CollectionOverflowTotal = "grpcmetrics_collection_overflow_total"
	// Milvus26Collections is the number of (db_name, collection_name) pairs
	// the set tracks.
	Milvus26Collections = "grpcmetrics_collections"
	// Milvus26FunctionName is the label that holds the method's name.
	Milvus26FunctionName = "function_name"
)

// Values of milvus_proxy_req_count's cause label, on the lines since
// v2.6.20: who is responsible for a call counted under "fail" or
// "rejected".
const (
	Milvus26CauseUser   = "user"
	Milvus26CauseSystem = "system"
	Milvus26CauseCancel = "cancel"
	// Milvus26Cause is the label.
	Milvus26Cause = "cause"
	// Milvus26GRPCLatencyBucket is the buckets of the latency histogram of
	// every call, by status (and cause), in milliseconds
	// (interceptor.WithGRPCLatency).
	Milvus26GRPCLatencyBucket = "milvus_proxy_grpc_latency_bucket"
)

// Values of milvus_proxy_req_count's status label: every call counts once
// under Milvus26StatusTotal when it starts and once under one of the other
// four when it ends.
const (
	Milvus26StatusTotal    = "total"
	Milvus26StatusSuccess  = "success"
	Milvus26StatusFail     = "fail"
	Milvus26StatusRetry    = "retry"
	Milvus26StatusRejected = "rejected"
)

// Alert names.
const (
	// AlertHighErrorRatio: a method's error ratio on an instance is above
	// Config.ErrorRatio.
	AlertHighErrorRatio = "GrpcmetricsHighErrorRatio"
	// AlertFastBurn: the job burns its error budget FastBurnFactor times too
	// fast over 1h and 5m.
	AlertFastBurn = "GrpcmetricsErrorBudgetFastBurn"
	// AlertSlowBurn: the job burns its error budget SlowBurnFactor times too
	// fast over 6h and 30m.
	AlertSlowBurn = "GrpcmetricsErrorBudgetSlowBurn"
	// AlertClientOverflow: calls came from clients beyond the interceptor's
	// client limit (Milvus flavour only).
	AlertClientOverflow = "GrpcmetricsClientIDOverflow"
	// AlertCollectionOverflow: calls were counted under the overflow
	// collection pair (Milvus 2.6 flavour only).
	AlertCollectionOverflow = "GrpcmetricsCollectionOverflow"
	// AlertSystemErrorRatio: a function's failures of cause "system"
	// (Milvus's own, not the callers') are above Config.ErrorRatio of its
	// finished calls (Milvus 2.6 flavour, lines with the cause label).
	AlertSystemErrorRatio = "GrpcmetricsSystemErrorRatio"
	// AlertContextLabelsOverflow: calls were counted under the overflow
	// context-label tuple (generic and A66 flavours).
	AlertContextLabelsOverflow = "GrpcmetricsContextLabelsOverflow"
	// AlertCallsBeforeInit: calls reached a server's provider families
	// before Init (generic flavour).
	AlertCallsBeforeInit = "GrpcmetricsCallsBeforeInit"
	// AlertMetricsRefused: /metrics answered 503, so some scrapes were
	// refused (every flavour).
	AlertMetricsRefused = "GrpcmetricsMetricsRefused"
	// AlertTargetDown: a target of the job fails its scrapes.
	AlertTargetDown = "GrpcmetricsTargetDown"
	// AlertTargetMissing: the job has no target at all.
	AlertTargetMissing = "GrpcmetricsTargetMissing"
)
