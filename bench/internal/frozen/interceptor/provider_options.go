package interceptor

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/common/model"
)

// Options of the provider's families alone ([ProviderOption]), which
// users of every peer ask for: the in-flight gauge and labels from the
// call's context.

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
func WithInFlight() SharedOption {
	return sharedOptionFunc(func(c *config) { c.inFlight = true })
}

// SharedOption configures the provider's families and gRPC's own metrics
// alike: [NewServerMetrics], [NewClientMetrics] and [NewA66] take it, and
// no other constructor. [WithInFlight] and [WithContextLabels] are such
// options.
type SharedOption interface {
	ProviderOption
	A66Option
}

// sharedOptionFunc is a [SharedOption].
type sharedOptionFunc func(*config)

func (f sharedOptionFunc) apply(c *config)    { f(c) }
func (sharedOptionFunc) serverMetricsOption() {}
func (sharedOptionFunc) clientMetricsOption() {}
func (sharedOptionFunc) a66Option()           {}

// MaxContextLabels is the largest number of labels [ContextLabels] may
// name.
const MaxContextLabels = 4

// DefaultContextLabelLimit is the number of distinct tuples of context
// label values that a set keeps when [ContextLabels].Limit is 0.
const DefaultContextLabelLimit = 256

// MaxContextLabelLimit is the largest [ContextLabels].Limit.
const MaxContextLabelLimit = 1 << 20

// ContextLabelOverflow is the value of every context label of the calls
// whose tuple of values finds no room (see [ContextLabels]).
const ContextLabelOverflow = "overflow"

// ContextLabels are labels that a call's context gives, such as a tenant, a
// client class or a region, added to the provider's families after
// grpc_type, grpc_service and grpc_method (after grpc_code, too, in
// grpc_server_handled_total), and to the in-flight gauge of
// [WithInFlight]. [WithContextLabels] turns them on. The handling-time
// histogram, which belongs to the install ([WithHistogram]), does not
// carry them. Since the tuples are known only as calls bring them,
// [WithInitialSeries] creates no series with context labels.
//
// Each (method, tuple) has its series resolved once, on the tuple's first
// call of the method, and kept: a call whose tuple is kept allocates
// nothing, whatever Values itself allocates.
type ContextLabels struct {
	// Names are the labels' names, in order, fixed at construction: one
	// to [MaxContextLabels] valid Prometheus label names, distinct, none
	// of the families' own (grpc_type, grpc_service, grpc_method,
	// grpc_code), none beginning with "__", and not "le" or "quantile".
	Names []string
	// Values returns the call's values, one per name, in order. It is
	// called once per call, before the handler (on a client, before the
	// invoker), and must be safe for concurrent use. The slice it
	// returns is read during the call only and kept nowhere: it stays
	// the caller's. A slice of another length, or a panic (recovered and
	// logged), counts the call under [ContextLabelOverflow]. Invalid
	// UTF-8 is repaired (each invalid byte sequence becomes U+FFFD).
	Values func(ctx context.Context) []string
	// Limit is the number of distinct tuples of values the set keeps, 1
	// to [MaxContextLabelLimit]; 0 means [DefaultContextLabelLimit]. The
	// bound is per label set, that is per [ServerMetrics] or
	// [ClientMetrics], across all its methods: a call whose tuple finds
	// no room is counted with every context label set to
	// [ContextLabelOverflow], and in
	// grpcmetrics_server_context_labels_overflow_total
	// (grpcmetrics_client_… on a client). So each family has at most
	// (Limit + 1) tuples per method and label values of its own.
	// grpcmetrics_server_context_labels_kept is the number of tuples
	// kept, and RemoveContextLabels forgets one, freeing its place.
	Limit int
}

// reservedLabel reports whether a context label may not take name.
func reservedLabel(name string) bool {
	switch name {
	case labelType, labelService, labelMethod, labelCode, "le", "quantile":
		return true
	}
	return false
}

// validate checks cl, for WithContextLabels.
func (cl *ContextLabels) validate() error {
	var errs []error
	switch n := len(cl.Names); {
	case n == 0:
		errs = append(errs, errors.New("no Names"))
	case n > MaxContextLabels:
		errs = append(errs, fmt.Errorf("%d Names, more than MaxContextLabels (%d)", n, MaxContextLabels))
	}
	seen := make(map[string]bool)
	for i, name := range cl.Names {
		switch {
		case !model.LegacyValidation.IsValidLabelName(name):
			errs = append(errs, fmt.Errorf("ContextLabels.Names[%d] %q is not a valid label name", i, name))
		case len(name) >= 2 && name[:2] == "__":
			errs = append(errs, fmt.Errorf("ContextLabels.Names[%d] %q is reserved: names beginning with __ are Prometheus's", i, name))
		case reservedLabel(name):
			errs = append(errs, fmt.Errorf("ContextLabels.Names[%d] %q is reserved: the families have a label of that name", i, name))
		case seen[name]:
			errs = append(errs, fmt.Errorf("ContextLabels.Names[%d] %q is given twice", i, name))
		}
		seen[name] = true
	}
	if cl.Values == nil {
		errs = append(errs, errors.New("ContextLabels.Values is nil"))
	}
	if cl.Limit < 0 || cl.Limit > MaxContextLabelLimit {
		errs = append(errs, fmt.Errorf("ContextLabels.Limit %d is out of range [0, %d]", cl.Limit, MaxContextLabelLimit))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("WithContextLabels: %w", err)
	}
	return nil
}

// WithContextLabels adds labels from each call's context to the provider's
// families (see [ContextLabels]), bounded per set. Its Names and Values
// are copied at construction; invalid names, a nil Values or an invalid
// Limit are an error from the constructor. [NewServerMetrics],
// [NewClientMetrics] and [NewA66] take it; in an [A66], the labels follow
// A66's own on every family of both sides (and the in-flight gauges), the
// names grpc_method, grpc_status and grpc_target are refused, and the
// bound is per [A66], both sides together (see [A66]).
func WithContextLabels(cl ContextLabels) SharedOption {
	return sharedOptionFunc(func(c *config) {
		cl.Names = append([]string(nil), cl.Names...)
		c.contextLabels = &cl
	})
}
