package interceptor

import (
	"context"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// ctxKey is a tuple of context label values, as a call brings them; the
// places beyond the set's number of names are "".
type ctxKey [MaxContextLabels]string

// ctxEntry is a tuple kept: its values, and the methods that have series
// for it (under ctxTuples.values.mu).
type ctxEntry struct {
	key   ctxKey
	bases []*methodSeries
	// a66 are the tuple's routes in an [A66]: a base route (of a server
	// method or of a client's method and target) → its child for the
	// tuple. Added to under ctxTuples.values.mu.
	a66 sync.Map
}

// ctxTuples are the tuples of context label values of one set's families,
// bounded by [boundedValues] (see [ContextLabels]).
type ctxTuples struct {
	fam           *families
	names         []string
	valuesOf      func(ctx context.Context) []string
	values        *boundedValues[ctxKey, ctxEntry]
	overflowKey   ctxKey
	overflowTotal prometheus.Counter
	kept          prometheus.GaugeFunc
	logger        *zap.Logger
}

func newCtxTuples(f *families, cl *ContextLabels, logger *zap.Logger) *ctxTuples {
	t := newCtxTuplesNamed("grpcmetrics_"+f.side, cl, logger)
	t.fam = f
	return t
}

// newCtxTuplesNamed makes the tuples of cl, with their overflow counter
// and kept gauge named after prefix; the caller sets fam, if any.
func newCtxTuplesNamed(prefix string, cl *ContextLabels, logger *zap.Logger) *ctxTuples {
	limit := cl.Limit
	if limit == 0 {
		limit = DefaultContextLabelLimit
	}
	t := &ctxTuples{names: cl.Names, valuesOf: cl.Values, logger: logger}
	for i := range cl.Names {
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

// keyOf returns the tuple of the call's context, or the overflow tuple if
// the function gives a slice of another length or panics.
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
		return t.overflowKey
	}
	copy(k[:], vals)
	return k
}

// forContext returns the series of a call of the method m with the
// call's context: m's own without context labels, else the child of the
// call's tuple, admitted on its first call.
func (m *methodSeries) forContext(ctx context.Context) *methodSeries {
	if m.tuples == nil {
		return m
	}
	k := m.tuples.keyOf(ctx)
	if v, ok := m.children.Load(k); ok {
		return v.(*methodSeries)
	}
	return m.tuples.admit(m, k)
}

// admit admits k if it is new and the limit allows, and returns its child
// of base: the overflow tuple's if k finds no place, or has a value that
// is not valid UTF-8.
func (t *ctxTuples) admit(base *methodSeries, k ctxKey) *methodSeries {
	t.values.mu.Lock()
	defer t.values.mu.Unlock()
	if v, ok := base.children.Load(k); ok {
		return v.(*methodSeries)
	}
	e := t.entryLocked(k)
	if v, ok := base.children.Load(e.key); ok { // the overflow tuple's
		return v.(*methodSeries)
	}
	child := newMethodSeries(t.fam, base.typ, base.service, base.method, e.key[:len(t.names)]...)
	base.children.Store(e.key, child)
	e.bases = append(e.bases, base)
	return child
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

// remove forgets the tuple values and deletes its series, in every family
// and method; see RemoveContextLabels.
func (t *ctxTuples) remove(values []string) bool {
	return t.forget(values, func(e *ctxEntry, match prometheus.Labels) {
		for _, base := range e.bases {
			base.children.Delete(e.key)
		}
		f := t.fam
		for _, vec := range []*prometheus.MetricVec{f.started.MetricVec, f.handled.MetricVec, f.received.MetricVec, f.sent.MetricVec, f.responseFailed.MetricVec} {
			vec.DeletePartialMatch(match)
		}
		if f.inFlight != nil {
			f.inFlight.DeletePartialMatch(match)
		}
	})
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

// RemoveContextLabels forgets a tuple of context label values (one value
// per [ContextLabels].Names, in order) and deletes its series from every
// family, freeing its place under the limit; it reports whether the tuple
// was kept. The overflow tuple is never removed. A call that starts after
// it returns counts the tuple anew; a call in progress may still count
// into the deleted series, which are then lost.
func (s *ServerMetrics) RemoveContextLabels(values ...string) bool {
	return s.fam.tuples.remove(values)
}

// RemoveContextLabels forgets a tuple of context label values, as
// [ServerMetrics.RemoveContextLabels] does.
func (c *ClientMetrics) RemoveContextLabels(values ...string) bool {
	return c.fam.tuples.remove(values)
}
