package interceptor

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/grpcmetrics/grpcmetrics/interceptor/internal/msgshape"
)

// InstallOption configures an install, [NewServerInstall] or
// [NewClientInstall]: what every set of the install shares, the status
// rule ([WithStatus]), the logger ([WithLogger]) and the latency
// histogram ([WithHistogram]). No set's constructor takes one, and no
// install takes a set's option: giving one to the other does not
// compile.
//
// Options are applied once, in order, by the constructor; when two options
// set the same thing, the last one wins. None of them is consulted again
// per call. Invalid values make the constructor return an error that
// names them. Which constructor takes which option:
//
//	option                  install  NewMilvusCounters  NewServerMetrics  NewClientMetrics  NewMilvus26  NewA66
//	WithStatus              yes      -                  -                 -                 -            -
//	WithLogger              yes      -                  -                 -                 -            -
//	WithHistogram           yes      -                  -                 -                 -            -
//	WithClientID            -        yes                -                 -                 -            -
//	WithClientLimit         -        yes                -                 -                 -            -
//	WithOutcome             -        yes                -                 -                 -            -
//	WithInitialSeries       -        -                  yes               -                 -            -
//	WithInFlight            -        -                  yes               yes               -            yes
//	WithContextLabels       -        -                  yes               yes               -            -
//	WithNodeID              -        -                  -                 -                 yes          -
//	WithCollectionLimit     -        -                  -                 -                 yes          -
//	WithReqLatency          -        -                  -                 -                 yes          -
//	WithRootCoordDDL        -        -                  -                 -                 yes          -
//	WithLine                -        -                  -                 -                 yes          -
//	WithGRPCLatency         -        -                  -                 -                 yes          -
//	WithA66ContextLabels    -        -                  -                 -                 -            yes
//	WithClientServices      -        -                  -                 -                 -            yes
//
// (install: [NewServerInstall] and [NewClientInstall].) A few pairs that
// compile are refused by the constructor, with an error: WithNodeID,
// WithCollectionLimit or WithGRPCLatency beside WithRootCoordDDL.
type InstallOption interface {
	applyInstall(*installConfig)
}

// installOptionFunc is an [InstallOption].
type installOptionFunc func(*installConfig)

func (f installOptionFunc) applyInstall(c *installConfig) { f(c) }

// installConfig is what the options of an install set.
type installConfig struct {
	logger    *zap.Logger
	status    StatusFunc // nil: the default rule
	statusSet bool
	histogram *Histogram // nil: no histogram
}

// newInstallConfig applies and checks the options of the install
// constructor ctor.
func newInstallConfig(ctor string, opts []InstallOption) (*installConfig, error) {
	c := &installConfig{logger: zap.NewNop()}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("interceptor: %s: option %d is nil", ctor, i)
		}
		o.applyInstall(c)
	}
	var errs []error
	if c.logger == nil {
		errs = append(errs, errors.New("WithLogger: nil logger (use zap.NewNop to log nothing)"))
	}
	if c.statusSet && c.status == nil {
		errs = append(errs, errors.New("WithStatus: nil function"))
	}
	if c.histogram != nil {
		if err := c.histogram.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("interceptor: %s: %w", ctor, err)
	}
	return c, nil
}

// rules returns the status rule and logger of the install c configures.
func (c *installConfig) rules() rules {
	return rules{status: c.status, shapes: new(msgshape.Cache), logger: c.logger}
}

// WithLogger sets the install's logger, for its rare events: a panic in a
// [Classifier], a [StatusFunc], a [ClientIDFunc] or the default rules,
// each logged at error level with the method and the panic value; a panic
// in an [Exemplar]'s Value or a context labels' function, at error level
// with the panic value; the first call before [ServerInstall.Init], and
// the first call that shows a part of the install missing, at warn level.
// Nothing is logged per ordinary call. The default is [zap.NewNop], which
// logs nothing; a nil logger is an error.
func WithLogger(l *zap.Logger) InstallOption {
	return installOptionFunc(func(c *installConfig) { c.logger = l })
}

// WithStatus sets the rule that finds a failing status in a response,
// replacing the default rule (see [NewMilvusCounters]), for every set of
// the install: the response is read once per call. [MilvusStatus] builds
// one for Milvus-style status types; any function will do. A nil fn is an
// error.
//
// The rule sees the response of every unary call that returned no error
// (see [StatusFunc]); stream calls are judged by their error alone. In
// Milvus v2.0's counters a failing status counts the call as fail; in
// [ServerMetrics] and [ClientMetrics] the call keeps its gRPC code (OK) in
// the provider's families and also counts in
// grpcmetrics_server_response_failed_total (grpcmetrics_client_… for
// clients); in [Milvus26] it is "fail" or "retry". gRPC's own metrics
// ([A66]) read codes only.
func WithStatus(fn StatusFunc) InstallOption {
	return installOptionFunc(func(c *installConfig) { c.status, c.statusSet = fn, true })
}

// WithHistogram turns on the install's handling-time histogram,
// grpc_server_handling_seconds (grpc_client_handling_seconds on a
// client) with labels grpc_type, grpc_service and grpc_method, and
// grpc_code with [Histogram].CodeLabel. The clock is read only when it
// (or another set that times calls) is on. Invalid buckets, native
// settings or exemplar labels are an error from the constructor. On a
// client the histogram is the provider's family: a [ClientInstall]
// without [ClientSets].Provider refuses it.
func WithHistogram(h Histogram) InstallOption {
	return installOptionFunc(func(c *installConfig) { hh := h; c.histogram = &hh })
}

// SharedOption configures the provider's families and gRPC's own metrics
// alike: [NewServerMetrics], [NewClientMetrics] and [NewA66] take it.
// [WithInFlight] is one.
type SharedOption interface {
	ServerMetricsOption
	ClientMetricsOption
	A66Option
}

// ProviderOption configures the provider's families on either side:
// [NewServerMetrics] and [NewClientMetrics] take it. [WithContextLabels]
// is one.
type ProviderOption interface {
	ServerMetricsOption
	ClientMetricsOption
}

// inFlightOption is [WithInFlight].
type inFlightOption struct{}

func (inFlightOption) applyServerMetrics(c *serverMetricsConfig) { c.inFlight = true }
func (inFlightOption) applyClientMetrics(c *clientMetricsConfig) { c.inFlight = true }
func (inFlightOption) applyA66(c *a66Config)                     { c.inFlight = true }

// contextLabelsOption is [WithContextLabels].
type contextLabelsOption struct{ cl *ContextLabels }

func (o contextLabelsOption) applyServerMetrics(c *serverMetricsConfig) { c.contextLabels = o.cl }
func (o contextLabelsOption) applyClientMetrics(c *clientMetricsConfig) { c.contextLabels = o.cl }

// WithInFlight turns on the in-flight gauge of the provider's families:
// grpc_server_in_flight{grpc_type, grpc_service, grpc_method} for
// [ServerMetrics] (grpc_client_in_flight for [ClientMetrics]), with the
// context labels of [WithContextLabels] when they are on. It is off by
// default.
//
// On a server, a call counts in it from the moment the interceptor hands
// it to the handler until the handler returns, however it returns: with
// an error, with a panic (counted before it goes on to a recovery
// interceptor), or after its client cancelled. Calls of methods the
// server does not register count under [UnknownMethod], so any method
// name a client sends cannot leave a series behind. (gRPC's own metrics,
// [A66], count a call started at its header, before its method is known;
// the gauge starts at the handler instead.) When no call is running the
// gauge is 0.
//
// On a client, a call counts from the moment the interceptor starts it
// until it is counted as handled (see
// [ClientMetrics.StreamClientInterceptor] for when a stream ends: a
// stream the caller abandons stays in flight until its context ends or
// its connection closes).
//
// [NewA66] takes it too, for an in-flight gauge of gRPC's own metrics
// (see [A66]): grpc_server_call_in_flight{grpc_method} and
// grpc_client_call_in_flight{grpc_method, grpc_target}.
//
// Only [NewServerMetrics], [NewClientMetrics] and [NewA66] take it.
func WithInFlight() SharedOption { return inFlightOption{} }

// WithContextLabels adds labels from each call's context to the provider's
// families (see [ContextLabels]), bounded per set. Its Names and Values
// are copied at construction; invalid names, a nil Values or an invalid
// Limit are an error from the constructor. [NewServerMetrics] and
// [NewClientMetrics] take it; [A66] has its own,
// [WithA66ContextLabels], with a function for each side.
func WithContextLabels(cl ContextLabels) ProviderOption {
	cl.Names = append([]string(nil), cl.Names...)
	return contextLabelsOption{&cl}
}
