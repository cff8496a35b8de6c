package interceptor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"
)

// ctxKey is a tuple of context label values, as a call brings them; the
// places beyond the set's number of names are "".
type ctxKey [MaxContextLabels]string

// ctxEntry is a tuple kept: its values, and the series that sets resolved
// for it (under ctxTuples.values.mu).
type ctxEntry struct {
	key ctxKey
	// bases are the routes that keep a child for the tuple, to forget on
	// removal, for a set whose routes keep their children themselves.
	bases []ctxChildren
	// children are the tuple's children kept by the tuple itself, for a
	// set that keeps them here: a base route → its child for the tuple.
	children sync.Map
}

// ctxChildren is a route that keeps a child per tuple.
type ctxChildren interface {
	forgetChild(k ctxKey)
}

// ctxTuples are the tuples of context label values of one set, bounded by
// [boundedValues] (see [ContextLabels]): a limit, one overflow tuple, an
// overflow counter, and removal. The set's own rule says which functions
// give a call's values.
type ctxTuples struct {
	names         []string
	values        *boundedValues[ctxKey, ctxEntry]
	overflowKey   ctxKey
	overflowTotal prometheus.Counter
	kept          prometheus.GaugeFunc
	// logger is the install's, told when the set joins it: it logs a
	// panic of a values function.
	logger *zap.Logger
}

// newCtxTuples makes the tuples of the labels names, at most limit of them
// (0: [DefaultContextLabelLimit]), with their overflow counter and kept
// gauge named after prefix.
func newCtxTuples(prefix string, names []string, limit int) *ctxTuples {
	if limit == 0 {
		limit = DefaultContextLabelLimit
	}
	t := &ctxTuples{names: names, logger: zap.NewNop()}
	for i := range names {
		t.overflowKey[i] = ContextLabelOverflow
	}
	t.overflowTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: prefix + "_context_labels_overflow_total",
		Help: "Total number of RPCs whose context label values found no room under the limit and were counted under \"" + ContextLabelOverflow + "\".",
	})
	overflow := &ctxEntry{key: t.overflowKey}
	t.values = newBoundedValues[ctxKey, ctxEntry](limit, overflow, t.overflowTotal)
	t.values.fix(t.overflowKey, overflow)
	t.kept = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: prefix + "_context_labels_kept",
		Help: "Number of distinct tuples of context label values kept, at most the limit.",
	}, func() float64 { return float64(t.values.len()) })
	return t
}

// keyWith returns the tuple that valuesOf gives for the call's context,
// as keyOf does.
func (t *ctxTuples) keyWith(ctx context.Context, valuesOf func(context.Context) []string) (k ctxKey) {
	defer func() {
		if p := recover(); p != nil {
			t.logger.Error("grpcmetrics: the context labels' Values function panicked; counting the call under the overflow value", zap.Any("panic", p))
			k = t.overflowKey
		}
	}()
	vals := valuesOf(ctx)
	if len(vals) != len(t.names) {
		return t.overflowKey
	}
	copy(k[:], vals)
	return k
}

// entryLocked returns the entry of k, admitting it if it is new and the
// limit allows: the overflow tuple's if k finds no place, or has a value
// that is not valid UTF-8. t.values.mu must be held.
func (t *ctxTuples) entryLocked(k ctxKey) *ctxEntry {
	if !t.valid(k) {
		return t.values.overflow
	}
	return t.values.admitLocked(k, func() *ctxEntry {
		// Clone: the tuple outlives the call, and its strings may share
		// memory with the caller's.
		var key ctxKey
		for i := range t.names {
			key[i] = strings.Clone(k[i])
		}
		return &ctxEntry{key: key}
	})
}

// valid reports whether k's values are valid UTF-8, as label values must be.
func (t *ctxTuples) valid(k ctxKey) bool {
	for i := range t.names {
		if !utf8.ValidString(k[i]) {
			return false
		}
	}
	return true
}

// forget forgets the tuple values, if it is kept, and calls deleteSeries
// with its entry and the labels that match its series, under the tuples'
// lock; it reports whether the tuple was kept.
func (t *ctxTuples) forget(values []string, deleteSeries func(e *ctxEntry, match prometheus.Labels)) bool {
	if t == nil || len(values) != len(t.names) {
		return false
	}
	var k ctxKey
	copy(k[:], values)
	t.values.mu.Lock()
	defer t.values.mu.Unlock()
	e, ok := t.values.removeLocked(k)
	if !ok {
		return false
	}
	match := make(prometheus.Labels, len(t.names))
	for i, name := range t.names {
		match[name] = e.key[i]
	}
	deleteSeries(e, match)
	return true
}

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
