// Package interceptor is a frozen copy of grpcmetrics' interceptor package
// as it was before the engine redesign (the two hand-written versions: the
// Milvus Interceptor and ServerMetrics/ClientMetrics), kept unchanged so
// that BenchmarkEngine can measure the redesign against it in one run.
// Do not edit it, except to keep it compiling.
package interceptor
