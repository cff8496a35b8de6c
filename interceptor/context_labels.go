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

// ctxEntry is a tuple kept: its values, and the methods that have series
// for it (under ctxTuples.values.mu).
type ctxEntry struct {
	key ctxKey
	// bases are the routes that keep a child for the tuple, of the set's
	// own type (the provider's *methodSeries).
	bases []any
	// a66 are the tuple's routes in an [A66]: a base route (of a server
	// method or of a client's method and target) → its child for the
	// tuple. Added to under ctxTuples.values.mu.
	a66 sync.Map
	// removed is set when the tuple is removed, under ctxTuples.values.mu:
	// a call that found the entry before gets no new child in it.
	removed bool
}

// ctxTuples are the tuples of context label values of one set's families,
// bounded by [boundedValues] (see [ContextLabels]).
//
// Each call counted under the overflow tuple moves overflowTotal once per
// set (once per side in an [A66]), whatever put it there: no room under
// the limit, a Values function that panicked or gave the wrong number of
// values, values that are the overflow tuple's, or the removal of its
// tuple while it ran. The set counts it where it takes the overflow
// tuple's series: forContext and a66Entry as a call starts, the end of a
// call whose tuple was removed (see remove).
type ctxTuples struct {
	names         []string
	valuesOf      func(ctx context.Context) []string
	values        *boundedValues[ctxKey, ctxEntry]
	overflowKey   ctxKey
	overflowTotal prometheus.Counter
	kept          prometheus.GaugeFunc
	// logger is the install's, told when the set joins it.
	logger *zap.Logger
	// discard is what every series of a removed tuple's children resolves
	// to: counters, gauges and observers registered nowhere.
	discard *seriesChild
}

// newCtxTuplesNamed makes the tuples of cl, with their overflow counter
// and kept gauge named after prefix.
func newCtxTuplesNamed(prefix string, cl *ContextLabels) *ctxTuples {
	limit := cl.Limit
	if limit == 0 {
		limit = DefaultContextLabelLimit
	}
	t := &ctxTuples{names: cl.Names, valuesOf: cl.Values, logger: zap.NewNop()}
	for i := range cl.Names {
		t.overflowKey[i] = ContextLabelOverflow
	}
	t.overflowTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: prefix + "_context_labels_overflow_total",
		Help: "Total number of RPCs counted with every context label set to \"" + ContextLabelOverflow + "\".",
	})
	overflow := &ctxEntry{key: t.overflowKey}
	t.values = newBoundedValues[ctxKey, ctxEntry](limit, overflow, nil) // the calls count it
	// A tuple is kept under its entry's cloned values, not the call's,
	// which may share memory with a value far longer than its label.
	t.values.keyOf = func(e *ctxEntry) ctxKey { return e.key }
	t.values.fix(t.overflowKey, overflow)
	t.kept = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: prefix + "_context_labels_kept",
		Help: "Number of distinct tuples of context label values kept, at most the limit.",
	}, func() float64 { return float64(t.values.len()) })
	t.discard = &seriesChild{
		counter:  prometheus.NewCounter(prometheus.CounterOpts{Name: "grpcmetrics_discarded", Help: "Never registered."}),
		gauge:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "grpcmetrics_discarded", Help: "Never registered."}),
		observer: prometheus.ObserverFunc(func(float64) {}),
	}
	return t
}

// keyOf returns the tuple of the call's context, its values made label
// values (see contextLabelValue), or the overflow tuple if the function
// gives a slice of another length or panics (either is logged).
func (t *ctxTuples) keyOf(ctx context.Context) ctxKey {
	return t.keyWith(ctx, t.valuesOf)
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
		t.logger.Error("grpcmetrics: the context labels' Values function gave a slice of another length than Names; counting the call under the overflow value",
			zap.Int("values", len(vals)), zap.Int("names", len(t.names)))
		return t.overflowKey
	}
	for i, v := range vals {
		k[i] = contextLabelValue(v)
	}
	return k
}

// contextLabelValue returns v as a label value: each run of bytes that is
// not valid UTF-8 replaced by one U+FFFD, as [strings.ToValidUTF8] does,
// then cut to at most MaxContextLabelLength bytes on a rune boundary. A
// valid v costs no allocation, and is read only as far as the label needs.
func contextLabelValue(v string) string {
	end := 0 // v[:end] is valid and fits
	for end < len(v) {
		n := 1
		if v[end] >= utf8.RuneSelf {
			var r rune
			if r, n = utf8.DecodeRuneInString(v[end:]); r == utf8.RuneError && n == 1 {
				return repairContextLabel(v)
			}
		}
		if end+n > MaxContextLabelLength {
			return v[:end]
		}
		end += n
	}
	return v
}

// repairContextLabel is contextLabelValue for a v that is not valid
// UTF-8: it builds the label, at most MaxContextLabelLength bytes of it.
func repairContextLabel(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRuneInString(v[i:])
		piece := v[i : i+n]
		if r == utf8.RuneError && n == 1 { // a run of invalid bytes: one U+FFFD
			for i < len(v) {
				if r, n = utf8.DecodeRuneInString(v[i:]); r != utf8.RuneError || n != 1 {
					break
				}
				i++
			}
			piece = string(utf8.RuneError)
		} else {
			i += n
		}
		if b.Len()+len(piece) > MaxContextLabelLength {
			break
		}
		b.WriteString(piece)
	}
	return b.String()
}

// entryLocked returns the entry of k, admitting it if it is new and the
// limit allows: the overflow tuple's if k finds no place. t.values.mu must
// be held.
func (t *ctxTuples) entryLocked(k ctxKey) *ctxEntry {
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

// forget forgets the tuple values (as Values gives them, or as the labels
// show them), if it is kept, and calls deleteSeries with its entry and the
// labels that match its series, under the tuples' lock; it reports
// whether the tuple was kept.
func (t *ctxTuples) forget(values []string, deleteSeries func(e *ctxEntry, match prometheus.Labels)) bool {
	if t == nil || len(values) != len(t.names) {
		return false
	}
	var k ctxKey
	for i, v := range values {
		k[i] = contextLabelValue(v)
	}
	t.values.mu.Lock()
	defer t.values.mu.Unlock()
	e, ok := t.values.removeLocked(k)
	if !ok {
		return false
	}
	e.removed = true
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

// MaxContextLabelLength is the longest context label value, in bytes, that
// a set exports; longer values are cut (see [ContextLabels].Values).
const MaxContextLabelLength = 255

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
	// the caller's.
	//
	// Each value becomes a label value: each run of bytes that is not
	// valid UTF-8 is replaced by one U+FFFD (as [strings.ToValidUTF8]
	// does), then a value longer than [MaxContextLabelLength] bytes is
	// cut to at most that many, on a rune boundary. Values that give the
	// same label values are one tuple. A valid value costs no allocation,
	// cut or not; repairing one allocates.
	//
	// A slice of another length than Names, or a panic, is logged
	// through [WithLogger], and the call is counted under
	// [ContextLabelOverflow] and in the overflow counter (see Limit), as
	// a call whose tuple finds no room is; the call itself goes on.
	Values func(ctx context.Context) []string
	// Limit is the number of distinct tuples of values the set keeps, 1
	// to [MaxContextLabelLimit]; 0 means [DefaultContextLabelLimit]. The
	// bound is per label set, that is per [ServerMetrics] or
	// [ClientMetrics], across all its methods: a call whose tuple finds
	// no room is counted with every context label set to
	// [ContextLabelOverflow]. So each family has at most (Limit + 1)
	// tuples per method and label values of its own.
	//
	// grpcmetrics_server_context_labels_overflow_total
	// (grpcmetrics_client_… on a client) counts each call counted under
	// [ContextLabelOverflow], once, whatever put it there: no room, a
	// failed Values (above), values that are [ContextLabelOverflow] in
	// every place, or the removal of its tuple while it ran (see
	// [ServerMetrics.RemoveContextLabels]). Once the calls have ended, it
	// equals the calls counted as handled under [ContextLabelOverflow].
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
