package interceptor

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// register registers c, the collector of owner (an install, or one of its
// sets), on r. The same collector twice is a
// no-op; another collector of the same metrics is an error that says what
// happened, and so is a nil (or typed-nil) r.
func register(r prometheus.Registerer, owner string, c prometheus.Collector) error {
	if isNilRegisterer(r) {
		return fmt.Errorf("interceptor: %s.Register: nil prometheus.Registerer", owner)
	}
	err := r.Register(c)
	var are prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &are) && are.ExistingCollector == c:
		return nil
	}
	return conflictError(owner, err)
}

// isNilRegisterer reports whether r is nil or a typed nil pointer.
func isNilRegisterer(r prometheus.Registerer) bool {
	rv := reflect.ValueOf(r)
	return !rv.IsValid() || (rv.Kind() == reflect.Pointer && rv.IsNil())
}

// setCollector is a set's own metrics as one collector, made once with
// the set, so that registering the set twice on one registry is a no-op.
type setCollector struct{ cs []prometheus.Collector }

// Describe implements [prometheus.Collector].
func (c *setCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.cs {
		m.Describe(ch)
	}
}

// Collect implements [prometheus.Collector].
func (c *setCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.cs {
		m.Collect(ch)
	}
}

// conflictError explains why a registerer refused owner's collector (see
// register): another collector
// already exports one of its metrics. It says which two things collide and
// what to do, and wraps client_golang's error.
func conflictError(owner string, err error) error {
	if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
		return fmt.Errorf("interceptor: %s.Register: another collector already registered these metrics (a %T; two %s on one registry?): "+
			"give each its own registry, or wrap the registerer with prometheus.WrapRegistererWith and a label that tells them apart: %w",
			owner, are.ExistingCollector, owner, err)
	}
	name := conflictName(err)
	var who string
	switch {
	case name == "":
		return fmt.Errorf("interceptor: %s.Register: %w", owner, err)
	case name == "grpc_server_handling_seconds" || name == "grpc_client_handling_seconds":
		return fmt.Errorf("interceptor: %s.Register: %s is already registered on this registry by another collector: "+
			"two latency histograms (the Milvus Interceptor and ServerMetrics both export grpc_server_handling_seconds "+
			"with WithHistogram, and so does go-grpc-middleware's provider with its histogram on): "+
			"give WithHistogram to one of them, or register each on its own registry: %w", owner, name, err)
	case strings.HasPrefix(name, "grpc_server_call_") || strings.HasPrefix(name, "grpc_client_attempt_") || strings.HasPrefix(name, "grpc_client_call_"):
		who = "another A66's, the OpenTelemetry Prometheus exporter's of grpc-go's plugin, or one of your own"
	case strings.HasPrefix(name, "grpcmetrics_client_id"):
		who = "another Interceptor's, or one of your own"
	case strings.HasPrefix(name, "grpc_server_") || strings.HasPrefix(name, "grpcmetrics_server_"):
		who = "another ServerMetrics' with other options, go-grpc-middleware's provider, or one of your own"
	case strings.HasPrefix(name, "grpc_client_") || strings.HasPrefix(name, "grpcmetrics_client_"):
		who = "another ClientMetrics' with other options, go-grpc-middleware's provider, or one of your own"
	default:
		who = "one of your own"
	}
	return fmt.Errorf("interceptor: %s.Register: %s is already registered on this registry by another collector (%s): "+
		"keep one of the two, or register %s on its own registry: %w", owner, name, who, owner, err)
}

// conflictName returns the metric name that client_golang's registration
// error quotes, or "" if it quotes none.
func conflictName(err error) string {
	_, rest, ok := strings.Cut(err.Error(), `fqName: "`)
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, `"`)
	if !ok {
		return ""
	}
	return name
}
