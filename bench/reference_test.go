package bench

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// reference is the plain design that issue 8 describes as its measure of
// what plain code reaches: a Go map of routes; per route, a one-entry cache
// of the last request and response type in front of a shared sync.Map of
// type layouts; reads through reflect by field index; and a sync.Map of each
// route's clients. It counts what grpcmetrics counts on the success path,
// and no more: no panic handling, no outcome hooks, no client limit, no
// RemoveClient, and layouts for the Milvus field names alone. It is a yard
// stick for BENCHMARKS.md, never a candidate.
type reference struct {
	routes  map[string]*refRoute
	layouts sync.Map // reflect.Type → *refLayout
}

type refRoute struct {
	fixed             *refCounts // nil on a client-labelled route
	vec               *prometheus.CounterVec
	clients           sync.Map // int64 → *refCounts
	lastReq, lastResp atomic.Pointer[refLayout]
}

type refCounts struct{ total, success, fail prometheus.Counter }

// refLayout holds the field indexes of one Go type: outer is the index of
// its Base or Status field (-1 if none); a and b are SourceID's index in
// Base, or ErrorCode's and Code's in Status.
type refLayout struct {
	t           reflect.Type
	outer, a, b int
}

func newReference(tb testing.TB) (*registry.Metrics, *reference) {
	tb.Helper()
	m := registry.New()
	require.NoError(tb, m.Register(prometheus.NewRegistry())) // methodmap.Default wants registered counters
	mm, err := methodmap.Default(m)
	require.NoError(tb, err)
	ref := &reference{routes: make(map[string]*refRoute, mm.Len())}
	for _, e := range mm.Entries() {
		r := &refRoute{vec: e.Counter}
		if e.Scheme != methodmap.ClientTypeScheme {
			r.fixed = &refCounts{e.Total, e.Success, e.Fail}
		}
		ref.routes[e.Method] = r
	}
	return m, ref
}

func (ref *reference) layout(last *atomic.Pointer[refLayout], t reflect.Type, outer string, a, b string) *refLayout {
	if l := last.Load(); l != nil && l.t == t {
		return l
	}
	v, ok := ref.layouts.Load(t)
	if !ok {
		l := &refLayout{t: t, outer: -1}
		if f, ok := t.Elem().FieldByName(outer); ok {
			fa, _ := f.Type.Elem().FieldByName(a)
			fb, _ := f.Type.Elem().FieldByName(b)
			l.outer, l.a, l.b = f.Index[0], fa.Index[0], fb.Index[0]
		}
		v, _ = ref.layouts.LoadOrStore(t, l)
	}
	last.Store(v.(*refLayout))
	return v.(*refLayout)
}

func (ref *reference) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	r := ref.routes[info.FullMethod]
	if r == nil {
		return h(ctx, req)
	}
	cs := r.fixed
	if cs == nil {
		var id int64
		v := reflect.ValueOf(req)
		l := ref.layout(&r.lastReq, v.Type(), "Base", "SourceID", "SourceID")
		if l.outer >= 0 && !v.IsNil() {
			if f := v.Elem().Field(l.outer); !f.IsNil() {
				id = f.Elem().Field(l.a).Int()
			}
		}
		c, ok := r.clients.Load(id)
		if !ok {
			label := registry.ClientLabel(id)
			c, _ = r.clients.LoadOrStore(id, &refCounts{
				r.vec.WithLabelValues(label, registry.TotalLabel),
				r.vec.WithLabelValues(label, registry.SuccessLabel),
				r.vec.WithLabelValues(label, registry.FailLabel),
			})
		}
		cs = c.(*refCounts)
	}
	cs.total.Inc()
	resp, err := h(ctx, req)
	fail := err != nil
	if !fail {
		v := reflect.ValueOf(resp)
		l := ref.layout(&r.lastResp, v.Type(), "Status", "ErrorCode", "Code")
		if l.outer >= 0 && !v.IsNil() {
			if f := v.Elem().Field(l.outer); !f.IsNil() {
				st := f.Elem()
				fail = st.Field(l.a).Int() != 0 || st.Field(l.b).Int() != 0
			}
		}
	}
	if fail {
		cs.fail.Inc()
	} else {
		cs.success.Inc()
	}
	return resp, err
}
