package interceptor

// # How a call is counted: one engine, several metric sets
//
// The engine is the code that sees a call: server_calls.go (unary and
// stream server calls) and client_calls.go (unary and stream client calls).
// Each kind of call is written once, as one function, its lifecycle, which
// owns everything the dialects share:
//   - the route: one map read gives the method's [serverRoute], in which
//     every metric set has resolved its series for the method beforehand;
//   - the clock: read once when the call starts and once when it ends, only
//     if the install has a latency histogram, which one observation fills,
//     or Milvus 2.6's counters, which observe their own;
//   - the outcome: the code the peer sees ([codeOf]), the body status (the
//     status rule, read once per call), a panic;
//   - the panic policy, in the lifecycle's single deferred function: a
//     panic of the handler is counted and goes on; a panic of a rule (the
//     client rule, a classifier, the status rule) is recovered there, and
//     nowhere else on the request path, logged, and counts the call as
//     failed.
//
// A metric set is a dialect: the Milvus v2.0 counters ([MilvusCounters],
// milvus_counters.go), Milvus 2.6's request counters ([Milvus26],
// milvus26.go) and the provider's families ([ServerMetrics],
// [ClientMetrics], provider_families.go). A set holds no lifecycle code (no
// defer, no recover, no clock): it resolves its series per route once and
// has two plain methods, began and ended, that the lifecycle calls with
// what it knows ([ending], by value). The sets are a closed list that this
// package owns, so the lifecycle calls them directly, through typed fields
// of the install: a per-call value never goes through an interface or a
// func value, where it would move to the heap.
//
// gRPC's own metrics ([A66], a66.go) are a set of another kind: their
// server side counts grpc-go's events (a call starts at its header and ends
// at grpc-go's End, for calls no interceptor sees too), so it has a
// stats.Handler front of its own (a66_server.go), not this lifecycle, and
// its client side is the plugin's pair, an interceptor for the call and a
// stats handler for each attempt (a66_client.go). Their per-call state is
// inline in the one context node that TagRPC (or the client interceptor)
// adds: the call's only allocation. A [ServerInstall] with ServerSets.A66 gives
// its handler beside the interceptors.
//
// An install is one engine with the sets it serves: each set alone
// (its UnaryServerInterceptor and friends), or several at once ([ServerInstall]).
// Label values that calls bring (client_id, Milvus 2.6's db_name and
// collection_name pair, and the tuples of [ContextLabels] in the provider's
// families and in [A66]) are bounded by [boundedValues], whatever the set.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/interceptor/internal/msgshape"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
)

// ending is how a call ended, as the lifecycle tells each set.
type ending struct {
	// code is the code the peer sees: codeOf(err), or Unknown for a panic.
	code codes.Code
	// failed: the call failed by the common rule, an error, a panic, a
	// failing status, or a rule's panic.
	failed bool
	// err is the error the call ended with (nil for a panic).
	err error
	// panicked: the handler (or invoker, or streamer) panicked.
	panicked bool
	// bodyFailed: the response carried a failing status.
	bodyFailed bool
	// ruleFailed: the status rule, which every set shares, panicked while
	// the call was judged; every set counts the call as failed. (A set's
	// own rule, such as a classifier, decides that set's count alone.)
	ruleFailed bool
	// statusCode is the integer code of a failing status (bodyFailed or
	// errBodyFailed), for Milvus 2.6's counters; 0 when it has none or
	// cannot be read.
	statusCode int64
	// statusInput: the failing status says that the request was at fault
	// (Milvus's is_input_error), for the cause of Milvus 2.6's counters.
	statusInput bool
	// errBodyFailed: the handler returned an error and a response whose
	// status fails, which Milvus's request interceptor reads before the
	// error on the lines that write a cause. Read for those lines only.
	errBodyFailed bool
}

// Stages of a call, for its lifecycle's deferred function.
const (
	inHandler = iota // the handler runs; its panic goes on
	judging          // the status rule judges the result; its panic is recovered
	ended            // counted
)

// rules are an install's status rule and its logger.
type rules struct {
	status StatusFunc      // nil: the default rule
	shapes *msgshape.Cache // the default status rule's shapes
	logger *zap.Logger
}

func (r *rules) logClientPanic(method string, p any) {
	r.logger.Error("grpcmetrics: the client ID rule panicked; counting the call as fail under the unknown client",
		zap.String("method", method), zap.Any("panic", p))
}

func (r *rules) logRulePanic(method string, p any) {
	// The outcome rule: a classifier or the status rule.
	r.logger.Error("grpcmetrics: the outcome rule panicked; counting the call as fail",
		zap.String("method", method), zap.Any("panic", p))
}

// Kinds of call, the index of their grpc_type value.
const (
	unaryIx = iota
	clientStreamIx
	serverStreamIx
	bidiStreamIx
	numTypes
)

// grpcType returns the grpc_type value of index ix (see typeIndex).
func grpcType(ix int) string {
	return [numTypes]string{Unary, ClientStream, ServerStream, BidiStream}[ix]
}

// typeIndex returns the index of a method's kind.
func typeIndex(client, server bool) int {
	switch {
	case client && server:
		return bidiStreamIx
	case client:
		return clientStreamIx
	case server:
		return serverStreamIx
	}
	return unaryIx
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
	if c, ok := statusCode(err); ok {
		return c
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Unknown
}

// statusCode returns the code of err as status.Code reads it, without
// allocating: OK for nil, else the code of the first error in err's tree
// with a GRPCStatus method that returns a status; ok is false when there
// is none (a plain or a context error). It asks an error's As method for
// an error with a GRPCStatus method, where status.FromError asks for one
// with GRPCStatus alone.
func statusCode(err error) (c codes.Code, ok bool) {
	if err == nil {
		return codes.OK, true
	}
	if se, found := errors.AsType[interface {
		error
		GRPCStatus() *status.Status
	}](err); found {
		if s := se.GRPCStatus(); s != nil {
			return s.Code(), true
		}
	}
	return codes.Unknown, false
}

// series is one child of a metric vector (a counter's or a histogram's),
// resolved on its first use and kept. Concurrent first uses resolve the
// same child. The label values are fixed strings and names made valid
// UTF-8 beforehand, in the vector's number, so resolving cannot fail.
type series struct {
	vec    *prometheus.MetricVec
	labels []string
	// mu, when set, is held while the series is resolved: the lock of the
	// tuples of context labels whose series it is, which orders its
	// resolution with the tuple's removal (see ctxTuples.remove).
	mu    *sync.Mutex
	child atomic.Pointer[seriesChild]
}

// seriesChild is a resolved child, as the type its vector makes.
type seriesChild struct {
	counter  prometheus.Counter  // of a counter vector
	observer prometheus.Observer // of a histogram vector
	gauge    prometheus.Gauge    // of a gauge vector
}

func (s *series) counter() prometheus.Counter   { return s.get().counter }
func (s *series) observer() prometheus.Observer { return s.get().observer }
func (s *series) gauge() prometheus.Gauge       { return s.get().gauge }

func (s *series) get() *seriesChild {
	if c := s.child.Load(); c != nil {
		return c
	}
	return s.resolve()
}

// resolve is get's first use, out of line so that get stays small.
func (s *series) resolve() *seriesChild {
	if s.mu != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c := s.child.Load(); c != nil {
			return c // resolved meanwhile, or its tuple removed
		}
	}
	m, err := s.vec.GetMetricWithLabelValues(s.labels...)
	if err != nil {
		panic(err) // as WithLabelValues does; see series
	}
	c := &seriesChild{}
	c.counter, _ = m.(prometheus.Counter)
	c.observer, _ = m.(prometheus.Observer)
	c.gauge, _ = m.(prometheus.Gauge)
	s.child.Store(c)
	return c
}

// splitMethod splits "/service/method" for labels. A malformed name, or
// one that is not valid UTF-8 (a client may call any string), is
// UnknownMethod twice, so that it never makes WithLabelValues panic.
// (methodmap.ParseMethod is stricter: it takes protobuf identifiers only,
// where a client may call any name.)
func splitMethod(fullMethod string) (service, method string) {
	rest, ok := strings.CutPrefix(fullMethod, "/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i <= 0 || i == len(rest)-1 || !utf8.ValidString(fullMethod) {
		return UnknownMethod, UnknownMethod
	}
	return rest[:i], rest[i+1:]
}

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

// numCodes is the number of gRPC codes, OK to Unauthenticated.
const numCodes = int(codes.Unauthenticated) + 1

// ServiceInfoProvider is what [ServerInstall.Init] needs of a server;
// [*grpc.Server] has it. It is [methodmap.ServiceInfoProvider].
type ServiceInfoProvider = methodmap.ServiceInfoProvider
