package interceptor

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// The series of gRPC's own metrics ([A66]): its families, and a route's
// series in them, per method on a server and per method and target on a
// client, with gRPC's codes and buckets.

// a66NumCodes is the number of grpc_status values: OK to
// UNAUTHENTICATED. Codes above are counted as UNKNOWN.
const a66NumCodes = int(codes.Unauthenticated) + 1

// a66CodeNames are the canonical names of the codes, as gRPC writes them
// in grpc_status.
var a66CodeNames = [a66NumCodes]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
}

// a66LatencyBuckets returns grpc-go's latency bounds, in seconds.
func a66LatencyBuckets() []float64 {
	return []float64{0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002,
		0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065,
		0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 2, 5, 10, 20, 50, 100}
}

// a66SizeBuckets returns grpc-go's size bounds, in bytes.
func a66SizeBuckets() []float64 {
	return []float64{0, 1024, 2048, 4096, 16384, 65536, 262144, 1048576, 4194304,
		16777216, 67108864, 268435456, 1073741824, 4294967296}
}

// a66CodeIx returns the index of the grpc_status series of c: c itself, or
// Unknown for a code above Unauthenticated.
func a66CodeIx(c codes.Code) int {
	if int(c) >= a66NumCodes {
		return int(codes.Unknown)
	}
	return int(c)
}

// a66Code returns status.Code(err), the code grpc-go's plugin records,
// without allocating: OK for nil; else the code of the first error in
// err's tree with a GRPCStatus method (Unknown if that returns nil); else
// Unknown, for context errors too (where [ServerMetrics] and
// [ClientMetrics] read DeadlineExceeded or Canceled, as a grpc-go server
// sends them). As codeOf, it asks an error's As method for an error with a
// GRPCStatus method.
func a66Code(err error) codes.Code {
	c, _ := statusCode(err) // Unknown when there is no status
	return c
}

// a66Families are the families of an [A66], both sides', and the tuples
// of its context labels (nil without them).
type a66Families struct {
	srvStarted                    *prometheus.CounterVec
	srvDuration, srvSent, srvRcvd *prometheus.HistogramVec
	cliStarted                    *prometheus.CounterVec
	cliDuration, cliSent, cliRcvd *prometheus.HistogramVec
	cliCallDuration               *prometheus.HistogramVec
	srvInFlight, cliInFlight      *prometheus.GaugeVec // nil unless WithInFlight
	tuples                        *ctxTuples           // nil unless WithA66ContextLabels
}

// a66ServerRoute is one grpc_method value's series on the server, each
// resolved on its first use.
type a66ServerRoute struct {
	method               string // the grpc_method value
	started              series
	duration, sent, rcvd [a66NumCodes]series
	inFlight             series // its vec is nil unless WithInFlight
	registered           bool   // a method Init found registered
	// moved is set when the route is a tuple's of context labels and the
	// tuple is removed: the overflow tuple's route of the same method,
	// where the route's calls still running end.
	moved atomic.Pointer[a66ServerRoute]
}

// newServerRoute makes the route of method, with the context label values
// extra (none: the method's own).
func (a *a66Families) newServerRoute(method string, extra ...string) *a66ServerRoute {
	method = strings.ToValidUTF8(method, "\uFFFD")
	r := &a66ServerRoute{method: method, started: series{vec: a.srvStarted.MetricVec, labels: append([]string{method}, extra...)}}
	for c := range a66NumCodes {
		lv := append([]string{method, a66CodeNames[c]}, extra...)
		r.duration[c] = series{vec: a.srvDuration.MetricVec, labels: lv}
		r.sent[c] = series{vec: a.srvSent.MetricVec, labels: lv}
		r.rcvd[c] = series{vec: a.srvRcvd.MetricVec, labels: lv}
	}
	if a.srvInFlight != nil {
		r.inFlight = series{vec: a.srvInFlight.MetricVec, labels: append([]string{method}, extra...)}
	}
	if len(extra) > 0 { // a tuple's: resolved in order with its removal
		r.each(func(s *series) { s.mu = &a.tuples.values.mu })
	}
	return r
}

// each calls f with each of the route's series.
func (r *a66ServerRoute) each(f func(s *series)) {
	f(&r.started)
	for c := range a66NumCodes {
		f(&r.duration[c])
		f(&r.sent[c])
		f(&r.rcvd[c])
	}
	if r.inFlight.vec != nil {
		f(&r.inFlight)
	}
}

// a66ClientRoute is one (grpc_method, grpc_target) pair's series, each
// resolved on its first use.
type a66ClientRoute struct {
	method, target            string // the grpc_method and grpc_target values
	started                   series
	attempt, sent, rcvd, call [a66NumCodes]series
	inFlight                  series // its vec is nil unless WithInFlight
	// moved is set when the route is a tuple's of context labels and the
	// tuple is removed: the overflow tuple's route of the same method and
	// target, where the route's calls and attempts still running end.
	moved atomic.Pointer[a66ClientRoute]
}

// newClientRoute makes the route of method and target, with the context
// label values extra (none: the pair's own).
func (a *a66Families) newClientRoute(method, target string, extra ...string) *a66ClientRoute {
	method = strings.ToValidUTF8(method, "\uFFFD")
	r := &a66ClientRoute{method: method, target: target, started: series{vec: a.cliStarted.MetricVec, labels: append([]string{method, target}, extra...)}}
	for c := range a66NumCodes {
		lv := append([]string{method, target, a66CodeNames[c]}, extra...)
		r.attempt[c] = series{vec: a.cliDuration.MetricVec, labels: lv}
		r.sent[c] = series{vec: a.cliSent.MetricVec, labels: lv}
		r.rcvd[c] = series{vec: a.cliRcvd.MetricVec, labels: lv}
		r.call[c] = series{vec: a.cliCallDuration.MetricVec, labels: lv}
	}
	if a.cliInFlight != nil {
		r.inFlight = series{vec: a.cliInFlight.MetricVec, labels: append([]string{method, target}, extra...)}
	}
	if len(extra) > 0 { // a tuple's: resolved in order with its removal
		r.each(func(s *series) { s.mu = &a.tuples.values.mu })
	}
	return r
}

// each calls f with each of the route's series.
func (r *a66ClientRoute) each(f func(s *series)) {
	f(&r.started)
	for c := range a66NumCodes {
		f(&r.attempt[c])
		f(&r.sent[c])
		f(&r.rcvd[c])
		f(&r.call[c])
	}
	if r.inFlight.vec != nil {
		f(&r.inFlight)
	}
}

// ending returns the route where a call with r ends: the overflow tuple's
// if r's tuple was removed while the call ran, counting the call in the
// overflow counter, else r.
func (r *a66ClientRoute) ending(t *ctxTuples) *a66ClientRoute {
	if to := r.moved.Load(); to != nil {
		t.overflowTotal.Inc()
		return to
	}
	return r
}

// ended records a call's duration, with status.Code of its error (Unknown
// for a panic), where the call ends (see ending), and takes it out of the
// in-flight gauge it entered.
func (r *a66ClientRoute) ended(t *ctxTuples, how *ending, elapsed time.Duration) {
	r.ending(t).call[a66CodeIx(a66Code(how.err))].observer().Observe(elapsed.Seconds())
	if r.inFlight.vec != nil {
		r.inFlight.gauge().Dec()
	}
}
