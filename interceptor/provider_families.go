package interceptor

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// The metric set of go-grpc-middleware's prometheus provider: its families,
// of one side ("server" or "client"), and one method's series in them.
// [ServerMetrics] and [ClientMetrics] are its two public faces.

// families are the provider's metric families of one side, "server" or
// "client", plus grpcmetrics_<side>_response_failed_total for the
// response-body rule.
type families struct {
	side                                             string
	started, handled, received, sent, responseFailed *prometheus.CounterVec
	inFlight                                         *prometheus.GaugeVec // nil unless WithInFlight
	tuples                                           *ctxTuples           // nil unless WithContextLabels
}

// newFamilies makes the families of side, with the gauge if inFlight and
// the context labels of cl (nil: none) after the families' own labels.
func newFamilies(side string, inFlight bool, cl *ContextLabels) *families {
	var names []string
	if cl != nil {
		names = cl.Names
	}
	base := append([]string{labelType, labelService, labelMethod}, names...)
	withCode := append([]string{labelType, labelService, labelMethod, labelCode}, names...)
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	// The help strings are the provider's, so that a switch keeps the
	// exposition's metadata too.
	f := &families{side: side}
	if cl != nil {
		f.tuples = newCtxTuples(f, cl)
	}
	if inFlight {
		help := "Number of RPCs whose handler is running on the server."
		if side == "client" {
			help = "Number of RPCs started by the client and not yet handled."
		}
		f.inFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "grpc_" + side + "_in_flight", Help: help}, base)
	}
	if side == "server" {
		f.started = counter("grpc_server_started_total", "Total number of RPCs started on the server.", base)
		f.handled = counter("grpc_server_handled_total", "Total number of RPCs completed on the server, regardless of success or failure.", withCode)
		f.received = counter("grpc_server_msg_received_total", "Total number of RPC stream messages received on the server.", base)
		f.sent = counter("grpc_server_msg_sent_total", "Total number of gRPC stream messages sent by the server.", base)
		f.responseFailed = counter("grpcmetrics_server_response_failed_total", "Total number of RPCs completed on the server with code OK whose response carried a failing status.", base)
		return f
	}
	f.started = counter("grpc_client_started_total", "Total number of RPCs started on the client.", base)
	f.handled = counter("grpc_client_handled_total", "Total number of RPCs completed by the client, regardless of success or failure.", withCode)
	f.received = counter("grpc_client_msg_received_total", "Total number of RPC stream messages received by the client.", base)
	f.sent = counter("grpc_client_msg_sent_total", "Total number of gRPC stream messages sent by the client.", base)
	f.responseFailed = counter("grpcmetrics_client_response_failed_total", "Total number of RPCs completed by the client with code OK whose response carried a failing status.", base)
	return f
}

func (f *families) collectors() []prometheus.Collector {
	cs := []prometheus.Collector{f.started, f.handled, f.received, f.sent, f.responseFailed}
	if f.inFlight != nil {
		cs = append(cs, f.inFlight)
	}
	if f.tuples != nil {
		cs = append(cs, f.tuples.overflowTotal, f.tuples.kept)
	}
	return cs
}

// methodSeries are one method's series in the families, each resolved on
// first use, as the provider creates them, unless initialised.
type methodSeries struct {
	typ                                     int    // the index of its grpc_type
	service, method                         string // the label values
	started, received, sent, responseFailed series
	handled                                 [numCodes]series
	inFlight                                series    // its vec is nil unless WithInFlight
	fam                                     *families // the families the series are of
	// tuples, with context labels, are the set's tuples of values; the
	// method's series are then children, one per tuple, and these are
	// never resolved (see forContext). Nil without context labels, and
	// in a child.
	tuples   *ctxTuples
	children sync.Map // ctxKey → *methodSeries, the children kept
	// owner is a child's set of tuples, nil in a method's own series;
	// overflow is whether the child is the overflow tuple's. moved is set
	// when the child's tuple is removed: the overflow tuple's child of the
	// same method, where the child's calls still running end.
	owner    *ctxTuples
	overflow bool
	moved    atomic.Pointer[methodSeries]
	// request and reply are received and sent on a server, sent and
	// received on a client: what a unary call counts as it begins and as
	// it returns without error.
	request, reply *series
}

// newMethodSeries makes the series of one method, with the context label
// values extra (nil: the method's own). Label values must be
// valid UTF-8 or WithLabelValues panics, and grpc-go registers and serves
// any service or method name, so service and method are repaired here, the
// one place every series is made: each invalid byte sequence becomes
// U+FFFD. The series can then never fail on their label values.
func newMethodSeries(f *families, typ int, service, method string, extra ...string) *methodSeries {
	service = strings.ToValidUTF8(service, "\uFFFD")
	method = strings.ToValidUTF8(method, "\uFFFD")
	m := &methodSeries{fam: f, typ: typ, service: service, method: method}
	if extra == nil {
		m.tuples = f.tuples
	}
	lv := append([]string{grpcType(typ), service, method}, extra...)
	counter := func(vec *prometheus.CounterVec, labels []string) series {
		return series{vec: vec.MetricVec, labels: labels}
	}
	m.started = counter(f.started, lv)
	m.received = counter(f.received, lv)
	m.sent = counter(f.sent, lv)
	m.responseFailed = counter(f.responseFailed, lv)
	if f.inFlight != nil {
		m.inFlight = series{vec: f.inFlight.MetricVec, labels: lv}
	}
	for c := range numCodes {
		m.handled[c] = counter(f.handled, append([]string{grpcType(typ), service, method, codes.Code(c).String()}, extra...))
	}
	m.request, m.reply = &m.received, &m.sent
	if f.side == "client" {
		m.request, m.reply = &m.sent, &m.received
	}
	if extra != nil { // a tuple's: resolved in order with its removal
		m.each(func(s *series) { s.mu = &f.tuples.values.mu })
	}
	return m
}

// each calls f with each of the method's series.
func (m *methodSeries) each(f func(s *series)) {
	f(&m.started)
	f(&m.received)
	f(&m.sent)
	f(&m.responseFailed)
	for c := range m.handled {
		f(&m.handled[c])
	}
	if m.inFlight.vec != nil {
		f(&m.inFlight)
	}
}

// live returns the series where a call with m counts now: the overflow
// tuple's, once m's tuple is removed, else m.
func (m *methodSeries) live() *methodSeries {
	if to := m.moved.Load(); to != nil {
		return to
	}
	return m
}

// initialise creates every series of the method at zero; with context
// labels, whose tuples calls bring, none.
func (m *methodSeries) initialise() {
	if m.tuples != nil {
		return
	}
	m.started.get()
	m.received.get()
	m.sent.get()
	m.responseFailed.get()
	for c := range m.handled {
		m.handled[c].get()
	}
	if m.inFlight.vec != nil {
		m.inFlight.get()
	}
}

// began counts a call as started, and a unary call's request.
func (m *methodSeries) began(unary bool) {
	if m.inFlight.vec != nil {
		m.inFlight.gauge().Inc()
	}
	m.started.counter().Inc()
	if unary {
		m.request.counter().Inc()
	}
}

// ended counts a call that began with m as handled with the code the peer
// sees; a unary call that returned without error also counts its reply,
// and the reply's failing status (or a rule's panic) in response_failed.
// If m's tuple was removed while the call ran, the call ends under the
// overflow tuple, which counts it as started too (its start was deleted
// with the tuple), and in the overflow counter.
func (m *methodSeries) ended(how *ending, unary bool) {
	to := m.moved.Load()
	if to == nil {
		to = m
	} else {
		to.started.counter().Inc()
		if unary {
			to.request.counter().Inc()
		}
		m.owner.overflowTotal.Inc()
	}
	if unary && how.err == nil && !how.panicked {
		to.reply.counter().Inc()
		if how.bodyFailed || how.ruleFailed {
			to.responseFailed.counter().Inc()
		}
	}
	to.handledCode(how.code).Inc()
	if m.inFlight.vec != nil { // m's: the gauge the call entered
		m.inFlight.gauge().Dec()
	}
}

// handledCode returns the counter of code c. Codes beyond Unauthenticated
// (16) count as Unknown, so that a peer's arbitrary codes cannot make
// series without bound; grpc-go itself passes such codes on unchanged.
func (m *methodSeries) handledCode(c codes.Code) prometheus.Counter {
	if int(c) >= numCodes {
		c = codes.Unknown
	}
	return m.handled[c].counter()
}

// newProviderConfig applies and checks the options of ctor.
func newProviderConfig[C any, O interface{ comparable }](ctor string, opts []O, apply func(O, *C), contextLabels func(*C) *ContextLabels) (*C, error) {
	c := new(C)
	var zero O
	for i, o := range opts {
		if o == zero {
			return nil, fmt.Errorf("interceptor: %s: option %d is nil", ctor, i)
		}
		apply(o, c)
	}
	if cl := contextLabels(c); cl != nil {
		if err := cl.validate(); err != nil {
			return nil, fmt.Errorf("interceptor: %s: %w", ctor, err)
		}
	}
	return c, nil
}

// newCtxTuples makes the tuples of the families f's context labels cl.
func newCtxTuples(f *families, cl *ContextLabels) *ctxTuples {
	t := newCtxTuplesNamed("grpcmetrics_"+f.side, cl)
	return t
}

// forContext returns the series of a call of the method m with the
// call's context: m's own without context labels, else the child of the
// call's tuple, admitted on its first call.
func (m *methodSeries) forContext(ctx context.Context) *methodSeries {
	if m.tuples == nil {
		return m
	}
	k := m.tuples.keyOf(ctx)
	var child *methodSeries
	if v, ok := m.children.Load(k); ok {
		child = v.(*methodSeries)
	} else {
		child = m.fam.admit(m, k)
	}
	if child.overflow {
		m.tuples.overflowTotal.Inc()
	}
	return child
}

// admit admits k if it is new and the limit allows, and returns its child
// of base: the overflow tuple's if k finds no place.
func (f *families) admit(base *methodSeries, k ctxKey) *methodSeries {
	t := f.tuples
	t.values.mu.Lock()
	defer t.values.mu.Unlock()
	if v, ok := base.children.Load(k); ok {
		return v.(*methodSeries)
	}
	return f.childLocked(base, t.entryLocked(k))
}

// childLocked returns the child of base for the tuple of e, made on its
// first use. t.values.mu must be held.
func (f *families) childLocked(base *methodSeries, e *ctxEntry) *methodSeries {
	t := f.tuples
	if v, ok := base.children.Load(e.key); ok {
		return v.(*methodSeries)
	}
	child := newMethodSeries(f, base.typ, base.service, base.method, e.key[:len(t.names)]...)
	child.owner, child.overflow = t, e == t.values.overflow
	base.children.Store(e.key, child)
	e.bases = append(e.bases, base)
	return child
}

// remove forgets the tuple values and deletes its series, in every family
// and method; see [ServerMetrics.RemoveContextLabels]. Each child of the tuple is moved to
// the overflow tuple's child of its method, where the calls still running
// with it end (see methodSeries.ended), and its series resolve to discard
// from then on, so that no call makes them again.
func (f *families) removeContextLabels(values []string) bool {
	t := f.tuples
	return t.forget(values, func(e *ctxEntry, match prometheus.Labels) {
		for _, b := range e.bases {
			base := b.(*methodSeries)
			v, ok := base.children.LoadAndDelete(e.key)
			if !ok {
				continue
			}
			child := v.(*methodSeries)
			child.moved.Store(f.childLocked(base, t.values.overflow))
			child.each(func(s *series) { s.child.Store(t.discard) })
		}
		for _, vec := range []*prometheus.MetricVec{f.started.MetricVec, f.handled.MetricVec, f.received.MetricVec, f.sent.MetricVec, f.responseFailed.MetricVec} {
			vec.DeletePartialMatch(match)
		}
		if f.inFlight != nil {
			f.inFlight.DeletePartialMatch(match)
		}
	})
}
