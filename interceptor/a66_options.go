package interceptor

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/grpcmetrics/grpcmetrics/interceptor/internal/grpcrecorder"
)

// The options of [NewA66].

// A66Option configures [NewA66]: [WithA66ContextLabels],
// [WithClientServices], [WithGRPCMetrics], or a [SharedOption]
// ([WithInFlight]). No other
// constructor takes it but those that [SharedOption] names.
type A66Option interface {
	applyA66(*a66Config)
}

// a66OptionFunc is an option of [NewA66] alone.
type a66OptionFunc func(*a66Config)

func (f a66OptionFunc) applyA66(c *a66Config) { f(c) }

// a66Config is what the options of [NewA66] set.
type a66Config struct {
	inFlight      bool
	contextLabels *A66ContextLabels // nil: none
	services      []*grpc.ServiceDesc
	grpcMetrics   *GRPCMetrics // WithGRPCMetrics; nil: none
}

// WithClientServices names the methods of services whose client calls
// [A66] labels by their method even without [grpc.StaticMethod]: the
// methods of stubs that do not pass it, such as protoc-gen-go-grpc
// v1.3.0's (milvus-proto v2.6's), whose calls grpc-go's plugin labels
// [A66Other].
// Give each service's descriptor, such as
// &milvuspb.MilvusService_ServiceDesc. It is a difference from the plugin,
// on purpose: a call of a listed method is labelled with its method, where
// the plugin writes "other". Calls that carry grpc.StaticMethod are
// labelled by their method either way. Only [NewA66] takes it; a nil
// descriptor, or one without a service name, is an error.
func WithClientServices(descs ...*grpc.ServiceDesc) A66Option {
	return a66OptionFunc(func(c *a66Config) { c.services = append(c.services, descs...) })
}

// a66Reserved reports whether a context label of an A66 may not take name:
// A66's own labels.
func a66Reserved(name string) bool {
	switch name {
	case "grpc_method", "grpc_status", "grpc_target":
		return true
	}
	return false
}

// A66ContextLabels are labels that a call's context gives, such as a
// tenant, added to every family of an [A66] on both sides, the in-flight
// gauges too, after A66's own labels (after grpc_status where a family has
// it). [WithA66ContextLabels] turns them on.
//
// The two sides read the values from contexts of different kinds, so
// each has its function: on a server, Server is called with the context
// grpc-go gives the stats handler as the call's header arrives, which
// carries the call's incoming metadata
// ([google.golang.org/grpc/metadata.FromIncomingContext]) and peer, but
// nothing the server's interceptors add; on a client, Client is called
// with the context given to the call, before the invoker, which carries
// the outgoing metadata ([google.golang.org/grpc/metadata.FromOutgoingContext])
// and whatever the application put there. A function that reads the
// incoming metadata finds none on a client, and every client series would
// carry empty values: so an A66 whose context labels have no Client
// function is refused by [NewClientInstall], and one without Server by
// [NewServerInstall].
//
// Names, Limit and the values' repair and cut are as in [ContextLabels],
// minus A66's own label names grpc_method, grpc_status and grpc_target;
// the bound is the A66's, both sides together.
type A66ContextLabels struct {
	Names          []string
	Server, Client func(ctx context.Context) []string
	Limit          int
}

// WithA66ContextLabels adds labels from each call's context to every
// family of an [A66] (see [A66ContextLabels]). Names are copied at
// construction; invalid names, no function at all, or an invalid Limit are
// an error from [NewA66].
func WithA66ContextLabels(cl A66ContextLabels) A66Option {
	return a66OptionFunc(func(c *a66Config) {
		cl.Names = append([]string(nil), cl.Names...)
		c.contextLabels = &cl
	})
}

// a66CheckContextLabels checks cl: the names as [ContextLabels] checks
// them, none of A66's own, and a function for one side at least.
func a66CheckContextLabels(cl *A66ContextLabels) error {
	var errs []error
	if cl.Server == nil && cl.Client == nil {
		errs = append(errs, errors.New("no Server nor Client function"))
	}
	check := ContextLabels{Names: cl.Names, Values: func(context.Context) []string { return nil }, Limit: cl.Limit}
	if err := check.validate(); err != nil {
		errs = append(errs, err)
	}
	for i, name := range cl.Names {
		if a66Reserved(name) {
			errs = append(errs, fmt.Errorf("A66ContextLabels.Names[%d] %q is reserved: A66's families have a label of that name", i, name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("interceptor: NewA66: WithA66ContextLabels: %w", err)
	}
	return nil
}

// GRPCMetricsOverflow is the value of every label of the overflow series of
// a metric of [GRPCMetrics]: the values recorded with label values that
// found no room under [GRPCMetrics].Limit.
const GRPCMetricsOverflow = grpcrecorder.Overflow

// DefaultGRPCMetricsLimit is the number of distinct label tuples each
// metric of [GRPCMetrics] keeps unless Limit says otherwise: the
// OpenTelemetry SDK's default cardinality limit.
const DefaultGRPCMetricsLimit = grpcrecorder.DefaultLimit

// MaxGRPCMetricsLimit is the largest [GRPCMetrics].Limit.
const MaxGRPCMetricsLimit = grpcrecorder.MaxLimit

// GRPCMetrics turns on, in [A66], metrics that grpc-go records through its
// experimental metrics recorder ([google.golang.org/grpc/experimental/stats]):
// metrics of a channel rather than of a call, which no interceptor sees.
// grpc-go v1.85.0 registers:
//
//   - the subchannel's (gRFC A94), by google.golang.org/grpc itself:
//     grpc.subchannel.connection_attempts_succeeded,
//     grpc.subchannel.connection_attempts_failed,
//     grpc.subchannel.disconnections and grpc.subchannel.open_connections,
//     label grpc.target, optional labels grpc.lb.backend_service,
//     grpc.lb.locality, grpc.disconnect_error (disconnections) and
//     grpc.security_level (open connections);
//   - weighted round robin's (gRFC A78), by
//     google.golang.org/grpc/balancer/weightedroundrobin: grpc.lb.wrr.*;
//   - RLS's, by google.golang.org/grpc/balancer/rls: grpc.lb.rls.*, two of
//     them gauges that grpc-go reports when asked (async gauges);
//   - the xDS client's and xDS policies', by the xDS packages:
//     grpc.xds_client.*, grpc.lb.outlier_detection.*,
//     grpc.client_ext_proc.*.
//
// Pick-first registers none in v1.85.0.
//
// Each metric is off unless Metrics names it, as in grpc-go's
// OpenTelemetry plugin (its MetricsOptions.Metrics), and is written as the
// plugin writes it through the OpenTelemetry Prometheus exporter v0.69.0:
// grpc.subchannel.connection_attempts_succeeded is
//
//	grpc_subchannel_connection_attempts_succeeded_total{grpc_target}
//
// with the descriptor's description as help; a counter ends in _total, a
// unit adds its suffix (_seconds, _bytes; a unit in braces adds none), an
// up-down counter and a gauge are gauges, a histogram has the descriptor's
// bounds (the SDK's default bounds if it has none). Label names have
// their dots turned to underscores (grpc_target). The recorder follows the
// descriptors, so a metric a later grpc-go registers is written the same
// way once named.
//
// grpc-go hands these metrics to the stats handlers of a channel (the
// client side, [ClientInstall.DialOptions]) and of a server
// ([ServerInstall.ServerOptions]; grpc-go's xDS server records through
// it). One A66 writes them for every connection and server its installs
// serve.
//
// The series are bounded, since label values come from targets, the
// control plane and peers (grpc.disconnect_error carries the GOAWAY code
// a peer sends): each metric keeps at most Limit distinct label tuples;
// a value of a further tuple is written in the metric's one overflow
// series, every label [GRPCMetricsOverflow], and counted in
// grpcmetrics_grpc_metric_overflow_total{metric} (metric: the family's
// name). A tuple once kept stays kept; so a gauge comes back down in the
// series it went up in. An async gauge's overflow series is the sum of
// the values of the tuples that found no room.
//
// Where it differs from the plugin: the plugin's SDK keeps 1999 attribute
// sets per metric and its overflow set (otel_metric_overflow="true");
// label values that are not valid UTF-8 are repaired (each invalid byte
// sequence becomes U+FFFD); a negative increment of a counter, which
// grpc-go never records, is dropped.
type GRPCMetrics struct {
	// Metrics names the metrics to write, as grpc-go registers them, such
	// as stats.NewMetricSet("grpc.subchannel.connection_attempts_failed").
	// Each must be registered when NewA66 is called: import the package
	// that records it. It must name at least one.
	Metrics *stats.MetricSet
	// OptionalLabels are the optional labels to write, as grpc-go names
	// them ("grpc.lb.locality"), on each metric turned on that has them
	// (the plugin's MetricsOptions.OptionalLabels). Each must be an
	// optional label of one of the metrics turned on.
	OptionalLabels []string
	// Limit is the number of distinct label tuples each metric keeps,
	// from 1 to [MaxGRPCMetricsLimit]; 0 means [DefaultGRPCMetricsLimit].
	Limit int
}

// WithGRPCMetrics turns on grpc-go's metrics that are not per call (see
// [GRPCMetrics]) in [A66], on its client and server stats handlers. Only
// [NewA66] takes it; a metric grpc-go has not registered, an optional
// label none of the metrics has, a limit out of range or no metric at all
// makes NewA66 return an error that names it. Given twice, the last wins.
func WithGRPCMetrics(m GRPCMetrics) A66Option {
	return a66OptionFunc(func(c *a66Config) { c.grpcMetrics = &m })
}

// newGRPCRecorder builds the recorder of the metrics cfg turns on; nil
// without WithGRPCMetrics.
func newGRPCRecorder(cfg *a66Config) (*grpcrecorder.Recorder, error) {
	g := cfg.grpcMetrics
	if g == nil {
		return nil, nil
	}
	if g.Metrics == nil {
		return nil, errors.New("interceptor: NewA66: WithGRPCMetrics: no metric named")
	}
	var names []string
	for name := range g.Metrics.Metrics() {
		names = append(names, name)
	}
	slices.Sort(names)
	rec, err := grpcrecorder.New(grpcrecorder.Config{Metrics: names, OptionalLabels: g.OptionalLabels, Limit: g.Limit, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("interceptor: NewA66: WithGRPCMetrics: %w", err)
	}
	return rec, nil
}
