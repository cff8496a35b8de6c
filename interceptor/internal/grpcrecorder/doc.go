// Package grpcrecorder writes the metrics that grpc-go records through its
// experimental metrics recorder (google.golang.org/grpc/experimental/stats),
// the ones no interceptor or per-call stats handler sees: the subchannel's
// connection attempts, disconnections and open connections, and those of
// load balancing policies and of the xDS client. A [Recorder] is both a
// grpc-go [google.golang.org/grpc/experimental/stats.MetricsRecorder], which grpc-go finds on a stats handler
// of a channel or server, and a [github.com/prometheus/client_golang/prometheus.Collector].
//
// It follows the descriptors that grpc-go registers, generically: each
// metric the configuration names is looked up with
// [google.golang.org/grpc/experimental/stats.DescriptorForMetric] once, at construction, and written under the
// name, help, labels and type that grpc-go's OpenTelemetry plugin gives it
// through the OpenTelemetry Prometheus exporter under its defaults (names
// and units translated by the exporter's own translator,
// github.com/prometheus/otlptranslator). A metric the configuration does
// not name is not written, as in the plugin.
//
// Every metric keeps at most a limit of distinct label tuples; further
// tuples are written under one overflow tuple, and counted.
package grpcrecorder
