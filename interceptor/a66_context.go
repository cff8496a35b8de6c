package interceptor

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// The context labels of [A66] ([WithContextLabels]): one set of tuples for
// both sides, bounded by the machinery of the provider's families
// (ctxTuples over boundedValues). A tuple's entry keeps the children of the
// routes it was counted with (ctxEntry.a66), so a call resolves its series
// once per route and tuple.

// a66Entry returns the entry of the call's tuple: its own if it is kept,
// else admitted if the limit allows, else the overflow tuple's, counting
// the call in the overflow counter.
func (t *ctxTuples) a66Entry(ctx context.Context, valuesOf func(context.Context) []string) *ctxEntry {
	k := t.keyWith(ctx, valuesOf)
	e, ok := t.values.load(k)
	if !ok {
		t.values.mu.Lock()
		e = t.entryLocked(k)
		t.values.mu.Unlock()
	}
	if e == t.values.overflow {
		t.overflowTotal.Inc()
	}
	return e
}

// a66Child returns the child in e of the base route that key names, made
// by newChild on its first use (under the tuples' lock, so that a removal
// does not miss it). If e's tuple was removed since the call found it
// (a66Entry), the call is the overflow tuple's, and counted so.
func a66Child[K comparable, R any](t *ctxTuples, e *ctxEntry, key K, newChild func(extra []string) *R) *R {
	if v, ok := e.a66.Load(key); ok {
		return v.(*R)
	}
	t.values.mu.Lock()
	defer t.values.mu.Unlock()
	if e.removed {
		e = t.values.overflow
		t.overflowTotal.Inc()
	}
	return a66ChildLocked(t, e, key, newChild)
}

// a66ChildLocked is a66Child with the tuples' lock held.
func a66ChildLocked[K comparable, R any](t *ctxTuples, e *ctxEntry, key K, newChild func(extra []string) *R) *R {
	if v, ok := e.a66.Load(key); ok {
		return v.(*R)
	}
	child := newChild(e.key[:len(t.names)])
	e.a66.Store(key, child)
	return child
}

// a66ClientBase names a client route by its label values rather than by
// its pointer: options shared by several connections make the routes of a
// connection anew each time calls switch connections (see
// [ClientInstall.DialOptions]), and a tuple's children must not grow with them.
type a66ClientBase struct{ method, target string }

// serverChild returns the maker of the children of the server route r.
func (a *A66) serverChild(method string) func(extra []string) *a66ServerRoute {
	return func(extra []string) *a66ServerRoute { return a.newServerRoute(method, extra...) }
}

// clientChild returns the maker of the children of the client route of b.
func (a *A66) clientChild(b a66ClientBase) func(extra []string) *a66ClientRoute {
	return func(extra []string) *a66ClientRoute { return a.newClientRoute(b.method, b.target, extra...) }
}

// serverRouteFor returns the route of a server call of fullMethod with
// the call's context: the method's, or its child for the call's tuple of
// context labels.
func (a *A66) serverRouteFor(ctx context.Context, fullMethod string) *a66ServerRoute {
	r := a.serverRoute(fullMethod)
	if a.tuples == nil {
		return r
	}
	e := a.tuples.a66Entry(ctx, a.serverValues)
	if v, ok := e.a66.Load(r); ok { // without the maker, which escapes
		return v.(*a66ServerRoute)
	}
	return a66Child(a.tuples, e, r, a.serverChild(r.method))
}

// clientRouteFor returns the child of a client route r for the call's
// tuple of context labels, or r without them.
func (a *A66) clientRouteFor(ctx context.Context, r *a66ClientRoute) *a66ClientRoute {
	if a.tuples == nil {
		return r
	}
	e := a.tuples.a66Entry(ctx, a.clientValues)
	b := a66ClientBase{r.method, r.target}
	if v, ok := e.a66.Load(b); ok {
		return v.(*a66ClientRoute)
	}
	return a66Child(a.tuples, e, b, a.clientChild(b))
}

// RemoveContextLabels forgets a tuple of context label values (one value
// per [ContextLabels].Names, in order, as Values gives them or as the
// labels show them) and deletes its series from every family of both
// sides, freeing its place under the limit; it reports whether the tuple
// was kept. The overflow tuple is never removed.
//
// A call that starts after it returns counts the tuple anew. A call of
// the tuple still running ends under [ContextLabelOverflow], on each side:
// its end (and the end of each attempt still running) is counted there,
// with its start (its start was deleted with the tuple), and in the
// overflow counter, but not in the in-flight gauges. So a removal never
// makes the tuple's series again, the bound holds, and no call's end is
// lost.
func (a *A66) RemoveContextLabels(values ...string) bool {
	t := a.tuples
	return t.forget(values, func(e *ctxEntry, match prometheus.Labels) {
		over := t.values.overflow
		e.a66.Range(func(key, v any) bool {
			switch k := key.(type) {
			case *a66ServerRoute:
				child := v.(*a66ServerRoute)
				child.moved.Store(a66ChildLocked(t, over, k, a.serverChild(k.method)))
				child.each(func(s *series) { s.child.Store(t.discard) })
			case a66ClientBase:
				child := v.(*a66ClientRoute)
				child.moved.Store(a66ChildLocked(t, over, k, a.clientChild(k)))
				child.each(func(s *series) { s.child.Store(t.discard) })
			}
			return true
		})
		for _, c := range a.collectors() {
			switch v := c.(type) {
			case *prometheus.CounterVec:
				v.DeletePartialMatch(match)
			case *prometheus.HistogramVec:
				v.DeletePartialMatch(match)
			case *prometheus.GaugeVec:
				v.DeletePartialMatch(match)
			}
		}
	})
}
