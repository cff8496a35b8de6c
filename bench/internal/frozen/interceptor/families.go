package interceptor

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Label names of the generic metric families, those of go-grpc-middleware's
// prometheus provider.
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

// numTypes is the number of grpc_type values.
const numTypes = 4

// grpcType returns the grpc_type value of index ix (see typeIndex).
func grpcType(ix int) string {
	return [numTypes]string{Unary, ClientStream, ServerStream, BidiStream}[ix]
}

// typeIndex returns the index of a method's kind: 0 unary, 1 client
// stream, 2 server stream, 3 bidi stream.
func typeIndex(client, server bool) int {
	switch {
	case client && server:
		return 3
	case client:
		return 1
	case server:
		return 2
	}
	return 0
}

// streamType returns the grpc_type of a method.
func streamType(client, server bool) string { return grpcType(typeIndex(client, server)) }

// families are the generic metric families of one side, "server" or
// "client", with the names and labels of go-grpc-middleware's provider, plus
// grpcmetrics_<side>_response_failed_total for the response-body rule.
type families struct {
	started, handled, received, sent, responseFailed *prometheus.CounterVec
	handling                                         *prometheus.HistogramVec // nil unless WithHistogram
}

func newFamilies(side string, h *Histogram) *families {
	base := []string{labelType, labelService, labelMethod}
	withCode := []string{labelType, labelService, labelMethod, labelCode}
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	// The help strings are the provider's, so that a switch keeps the
	// exposition's metadata too.
	f := &families{}
	if side == "server" {
		f.started = counter("grpc_server_started_total", "Total number of RPCs started on the server.", base)
		f.handled = counter("grpc_server_handled_total", "Total number of RPCs completed on the server, regardless of success or failure.", withCode)
		f.received = counter("grpc_server_msg_received_total", "Total number of RPC stream messages received on the server.", base)
		f.sent = counter("grpc_server_msg_sent_total", "Total number of gRPC stream messages sent by the server.", base)
		f.responseFailed = counter("grpcmetrics_server_response_failed_total", "Total number of RPCs completed on the server with code OK whose response carried a failing status.", base)
		if h != nil {
			f.handling = h.newVec(side, "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.")
		}
		return f
	}
	f.started = counter("grpc_client_started_total", "Total number of RPCs started on the client.", base)
	f.handled = counter("grpc_client_handled_total", "Total number of RPCs completed by the client, regardless of success or failure.", withCode)
	f.received = counter("grpc_client_msg_received_total", "Total number of RPC stream messages received by the client.", base)
	f.sent = counter("grpc_client_msg_sent_total", "Total number of gRPC stream messages sent by the client.", base)
	f.responseFailed = counter("grpcmetrics_client_response_failed_total", "Total number of RPCs completed by the client with code OK whose response carried a failing status.", base)
	if h != nil {
		f.handling = h.newVec(side, "Histogram of response latency (seconds) of the gRPC until it is finished by the application.")
	}
	return f
}

func (f *families) collectors() []prometheus.Collector {
	cs := []prometheus.Collector{f.started, f.handled, f.received, f.sent, f.responseFailed}
	if f.handling != nil {
		cs = append(cs, f.handling)
	}
	return cs
}

func (f *families) describe(ch chan<- *prometheus.Desc) {
	for _, c := range f.collectors() {
		c.Describe(ch)
	}
}

func (f *families) collect(ch chan<- prometheus.Metric) {
	for _, c := range f.collectors() {
		c.Collect(ch)
	}
}

// numCodes is the number of gRPC codes, OK to Unauthenticated.
const numCodes = int(codes.Unauthenticated) + 1

// methodSeries are one method's children in the families. Each is resolved
// on first use, as the provider creates them, unless pre-initialised.
type methodSeries struct {
	started, received, sent, responseFailed lazyCounter
	handled                                 [numCodes]lazyCounter
	handling                                *lazyObserver // nil unless WithHistogram
}

// newMethodSeries makes the series of one method. Label values must be
// valid UTF-8 or WithLabelValues panics, and grpc-go registers and serves
// any service or method name, so service and method are repaired here, the
// one place every series is made: each invalid byte sequence becomes
// U+FFFD. The lazy series can then never panic on their label values.
func newMethodSeries(f *families, typ, service, method string) *methodSeries {
	m := &methodSeries{}
	service = strings.ToValidUTF8(service, "\uFFFD")
	method = strings.ToValidUTF8(method, "\uFFFD")
	lv := []string{typ, service, method}
	m.started = lazyCounter{vec: f.started, labels: lv}
	m.received = lazyCounter{vec: f.received, labels: lv}
	m.sent = lazyCounter{vec: f.sent, labels: lv}
	m.responseFailed = lazyCounter{vec: f.responseFailed, labels: lv}
	for c := range numCodes {
		m.handled[c] = lazyCounter{vec: f.handled, labels: []string{typ, service, method, codes.Code(c).String()}}
	}
	if f.handling != nil {
		m.handling = &lazyObserver{vec: f.handling, labels: lv}
	}
	return m
}

// initialise creates every series of the method at zero; the histogram's
// too, which counts among MaxInitialSeries as one.
func (m *methodSeries) initialise() {
	m.started.get()
	m.received.get()
	m.sent.get()
	m.responseFailed.get()
	for c := range m.handled {
		m.handled[c].get()
	}
	if m.handling != nil {
		m.handling.get()
	}
}

// handledCode returns the counter of code c. Codes beyond Unauthenticated
// (16) count as Unknown, so that a peer's arbitrary codes cannot make
// series without bound; grpc-go itself passes such codes on unchanged.
func (m *methodSeries) handledCode(c codes.Code) prometheus.Counter {
	if int(c) >= numCodes {
		c = codes.Unknown
	}
	return m.handled[c].get()
}

// lazyCounter is one child of a vector, resolved on first use. Concurrent
// first uses resolve the same child.
type lazyCounter struct {
	vec    *prometheus.CounterVec
	labels []string
	c      atomic.Pointer[counterRef]
}

type counterRef struct{ prometheus.Counter }

// lazyObserver is lazyCounter for a histogram's child.
type lazyObserver struct {
	vec    *prometheus.HistogramVec
	labels []string
	o      atomic.Pointer[observerRef]
}

type observerRef struct{ prometheus.Observer }

func (l *lazyObserver) get() prometheus.Observer {
	if r := l.o.Load(); r != nil {
		return r.Observer
	}
	r := &observerRef{l.vec.WithLabelValues(l.labels...)}
	l.o.Store(r)
	return r.Observer
}

func (l *lazyCounter) get() prometheus.Counter {
	if r := l.c.Load(); r != nil {
		return r.Counter
	}
	// The label values are fixed strings and method names that
	// newMethodSeries made valid UTF-8, in the vector's number, so
	// WithLabelValues cannot panic here.
	r := &counterRef{l.vec.WithLabelValues(l.labels...)}
	l.c.Store(r)
	return r.Counter
}

// codeOf returns the gRPC code of a handler's or invoker's error, the one
// a grpc-go server sends for it: what status.FromError finds, else what
// status.FromContextError makes of it. So the first error in err's tree
// (depth first, as errors.As walks it) that has a GRPCStatus method gives
// the code, unless its GRPCStatus is nil; without one that gives a
// status, DeadlineExceeded or Canceled when err is (errors.Is) that
// context error, DeadlineExceeded first, else Unknown. A status of code
// OK gives OK. Unlike status.FromError it allocates nothing, unless an
// error in the tree has an As method (which errors.AsType asks for an
// error with a GRPCStatus method, where status.FromError's errors.As asks
// for a GRPCStatus method alone).
func codeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if se, ok := errors.AsType[interface {
		error
		GRPCStatus() *status.Status
	}](err); ok {
		if s := se.GRPCStatus(); s != nil {
			return s.Code()
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Unknown
}

// splitMethod splits "/service/method" for labels. A malformed name, or
// one that is not valid UTF-8 (a client may call any string), is
// UnknownMethod twice, so that it never makes WithLabelValues panic.
func splitMethod(fullMethod string) (service, method string) {
	rest, ok := strings.CutPrefix(fullMethod, "/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i <= 0 || i == len(rest)-1 || !utf8.ValidString(fullMethod) {
		return UnknownMethod, UnknownMethod
	}
	return rest[:i], rest[i+1:]
}
