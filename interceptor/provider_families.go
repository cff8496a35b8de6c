package interceptor

import (
	"context"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// The metric set of go-grpc-middleware's prometheus provider: its families,
// of one side ("server" or "client"), and one method's series in them.
// [ServerMetrics] and [ClientMetrics] are its two public faces.

// Label names of the provider's families.
const (
	labelType    = "grpc_type"
	labelService = "grpc_service"
	labelMethod  = "grpc_method"
	labelCode    = "grpc_code"
)

// Values of the grpc_type label.
const (
	Unary        = "unary"
	ClientStream = "client_stream"
	ServerStream = "server_stream"
	BidiStream   = "bidi_stream"
)

// UnknownMethod is the grpc_service and grpc_method label value of calls to
// methods that the server did not register (through
// grpc.UnknownServiceHandler, say), so that arbitrary method names never
// become series.
const UnknownMethod = "unknown"

// families are the provider's metric families of one side, "server" or
// "client", plus grpcmetrics_<side>_response_failed_total for the
// response-body rule.
type families struct {
	side                                             string
	started, handled, received, sent, responseFailed *prometheus.CounterVec
	inFlight                                         *prometheus.GaugeVec // nil unless WithInFlight
	tuples                                           *ctxTuples           // nil unless WithContextLabels
	valuesOf                                         func(context.Context) []string
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
		f.tuples = newCtxTuples("grpcmetrics_"+side, cl.Names, cl.Limit)
		f.valuesOf = cl.Values
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

// numCodes is the number of gRPC codes, OK to Unauthenticated.
const numCodes = int(codes.Unauthenticated) + 1

// methodSeries are one method's series in the families, each resolved on
// first use, as the provider creates them, unless initialised.
type methodSeries struct {
	typ                                     int    // the index of its grpc_type
	service, method                         string // the label values
	started, received, sent, responseFailed series
	handled                                 [numCodes]series
	inFlight                                series // its vec is nil unless WithInFlight
	fam                                     *families
	// tuples, with context labels, are the set's tuples of values; the
	// method's series are then children, one per tuple, and these are
	// never resolved (see forContext). Nil without context labels, and
	// in a child.
	tuples   *ctxTuples
	children sync.Map // ctxKey → *methodSeries, the children kept
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

// ended counts a call as handled with the code the peer sees; a unary
// call that returned without error also counts its reply, and the reply's
// failing status (or a rule's panic) in response_failed.
func (m *methodSeries) ended(how *ending, unary bool) {
	if unary && how.err == nil && !how.panicked {
		m.reply.counter().Inc()
		if how.bodyFailed || how.ruleFailed {
			m.responseFailed.counter().Inc()
		}
	}
	m.handledCode(how.code).Inc()
	if m.inFlight.vec != nil {
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

// forContext returns the series of a call of the method m with the
// call's context: m's own without context labels, else the child of the
// call's tuple, admitted on its first call.
func (m *methodSeries) forContext(ctx context.Context) *methodSeries {
	if m.tuples == nil {
		return m
	}
	k := m.tuples.keyWith(ctx, m.fam.valuesOf)
	if v, ok := m.children.Load(k); ok {
		return v.(*methodSeries)
	}
	return m.admit(k)
}

// admit admits k if it is new and the limit allows, and returns its child
// of m: the overflow tuple's if k finds no place, or has a value that is
// not valid UTF-8.
func (m *methodSeries) admit(k ctxKey) *methodSeries {
	t := m.tuples
	t.values.mu.Lock()
	defer t.values.mu.Unlock()
	if v, ok := m.children.Load(k); ok {
		return v.(*methodSeries)
	}
	e := t.entryLocked(k)
	if v, ok := m.children.Load(e.key); ok { // the overflow tuple's
		return v.(*methodSeries)
	}
	child := newMethodSeries(m.fam, m.typ, m.service, m.method, e.key[:len(t.names)]...)
	m.children.Store(e.key, child)
	e.bases = append(e.bases, m)
	return child
}

// forgetChild forgets m's child for the tuple k, removed.
func (m *methodSeries) forgetChild(k ctxKey) { m.children.Delete(k) }

// removeContextLabels forgets the tuple values and deletes its series, in
// every family and method; see [ServerMetrics.RemoveContextLabels].
func (f *families) removeContextLabels(values []string) bool {
	return f.tuples.forget(values, func(e *ctxEntry, match prometheus.Labels) {
		for _, base := range e.bases {
			base.forgetChild(e.key)
		}
		for _, vec := range []*prometheus.MetricVec{f.started.MetricVec, f.handled.MetricVec, f.received.MetricVec, f.sent.MetricVec, f.responseFailed.MetricVec} {
			vec.DeletePartialMatch(match)
		}
		if f.inFlight != nil {
			f.inFlight.DeletePartialMatch(match)
		}
	})
}

// RemoveContextLabels forgets a tuple of context label values (one value
// per [ContextLabels].Names, in order) and deletes its series from every
// family, freeing its place under the limit; it reports whether the tuple
// was kept. The overflow tuple is never removed. A call that starts after
// it returns counts the tuple anew; a call in progress may still count
// into the deleted series, which are then lost.
func (s *ServerMetrics) RemoveContextLabels(values ...string) bool {
	return s.fam.removeContextLabels(values)
}

// RemoveContextLabels forgets a tuple of context label values, as
// [ServerMetrics.RemoveContextLabels] does.
func (c *ClientMetrics) RemoveContextLabels(values ...string) bool {
	return c.fam.removeContextLabels(values)
}
