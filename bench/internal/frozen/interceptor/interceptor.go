package interceptor

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// Interceptor counts the calls of the methods in a [methodmap.Map] into the
// map's counters. Build it with [New] and install
// [Interceptor.UnaryServerInterceptor] (and, for streaming methods in the
// map, [Interceptor.StreamServerInterceptor]) on a server. It is also a
// [prometheus.Collector] of its own metrics, which [Interceptor.Register]
// registers.
type Interceptor struct {
	routes   map[string]*route // by full method name; never written after New
	logger   *zap.Logger
	status   StatusFunc   // nil: the default rule
	clientID ClientIDFunc // nil: the default rule
	shapes   shapes       // the default rules' per-type shapes
	clients  *clientTable

	overflowTotal prometheus.Counter
	tracked       prometheus.GaugeFunc
	handling      *prometheus.HistogramVec // nil unless WithHistogram
	clock         *clock                   // nil unless WithHistogram
}

// route is one mapped method.
type route struct {
	method   string
	fixed    *counts                 // the series of a route without client_id, else nil
	clientIx int                     // the route's index among client-labelled routes
	classify Classifier              // nil: the common rule
	latency  *[numTypes]lazyObserver // histogram children by grpc_type; nil unless WithHistogram

	lastReq, lastResp atomic.Pointer[shape] // the default rules' last shapes
}

// New builds an interceptor over m. Without options it:
//   - judges a call fail if the handler returns an error, panics, or returns
//     a response that is a Milvus status or has a "status" field holding
//     one (a protobuf message named Status with a non-zero enum
//     "error_code" or a non-zero integer "code"), and success otherwise;
//   - labels client-labelled (RootCoord) calls with client_id
//     "client_<SourceID>", from the request's "base" message field and its
//     "sourceID" field, or with [registry.UnknownClientLabel] when there is
//     no base;
//   - tracks at most [DefaultClientLimit] client IDs.
//
// These default rules read protobuf messages of today's protoc-gen-go, of
// the old APIv1 generators that Milvus used, and of dynamicpb; a value they
// cannot read has no status and no SourceID. [WithStatus] and
// [WithClientID] replace them, for example with [MilvusStatus] and
// [MilvusSourceID] over the caller's generated types.
//
// New returns an error naming every problem: a nil map or option, an
// outcome rule for a method the map does not have, a nil function, or a
// client limit out of range.
func New(m *methodmap.Map, opts ...Option) (*Interceptor, error) {
	cfg, err := newConfig(m, opts)
	if err != nil {
		return nil, err
	}
	i := &Interceptor{
		routes:   make(map[string]*route, m.Len()),
		logger:   cfg.logger,
		status:   cfg.status,
		clientID: cfg.clientID,
	}
	if cfg.histogram != nil {
		i.handling = cfg.histogram.newVec("server", "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.")
		i.clock = newClock(cfg.histogram, cfg.logger)
	}
	var vecs []*prometheus.CounterVec
	for _, e := range m.Entries() {
		r := &route{method: e.Method, classify: cfg.outcomes[e.Method]}
		if i.handling != nil {
			// Resolved on first use: a mapped method may be a stream,
			// whose grpc_type is known only per call.
			svc, name := splitMethod(e.Method)
			r.latency = new([numTypes]lazyObserver)
			for ix := range numTypes {
				r.latency[ix] = lazyObserver{vec: i.handling, labels: []string{grpcType(ix), svc, name}}
			}
		}
		if e.Scheme == methodmap.ClientTypeScheme {
			r.clientIx = len(vecs)
			vecs = append(vecs, e.Counter)
		} else {
			r.fixed = &counts{total: e.Total, success: e.Success, fail: e.Fail}
		}
		i.routes[e.Method] = r
	}
	i.overflowTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "grpcmetrics",
		Name:      "client_id_overflow_total",
		Help:      `Calls of untracked clients counted under client_id="` + registry.OverflowClientLabel + `" because the client limit was reached; calls whose own client_id is "` + registry.OverflowClientLabel + `" are not included.`,
	})
	i.clients = newClientTable(cfg.clientLimit, vecs, i.overflowTotal)
	i.tracked = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "grpcmetrics",
		Name:      "client_ids",
		Help:      "Distinct client_id values currently tracked by the interceptor, fixed values excluded.",
	}, func() float64 { return float64(i.clients.len()) })
	return i, nil
}

// UnaryServerInterceptor returns the interceptor to install with
// [grpc.ChainUnaryInterceptor]. Place it inside any recovery interceptor, so
// that it sees (and counts) a handler's panic before recovery turns it into
// an error.
func (i *Interceptor) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return i.intercept
}

func (i *Interceptor) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	r := i.routes[info.FullMethod]
	if r == nil {
		return handler(ctx, req)
	}
	// One deferred call covers every way a call can end abnormally, so that
	// a call pays for one deferred call, not one per rule:
	//   - the client rule panicked: recover, log, and run the call from
	//     here as a failed call of the unknown client (see unidentified);
	//   - the handler panicked: count the call as fail, and let the panic
	//     go on (no recover);
	//   - the outcome rules panicked while judging: recover, log, count the
	//     call as fail, and return the handler's resp and err as they are.
	var (
		cs    = r.fixed
		start time.Duration
		stage = identifying
	)
	defer func() {
		switch stage {
		case identifying:
			if p := recover(); p != nil {
				i.logClientPanic(r, p)
				resp, err = i.unidentified(ctx, req, r, handler)
			}
		case inHandler:
			i.end(ctx, r, 0, cs, true, start)
		case judging:
			if p := recover(); p != nil {
				i.logRulePanic(r, p)
				i.end(ctx, r, 0, cs, true, start)
			}
		}
	}()
	if cs == nil {
		cs = i.clientCounts(ctx, req, r)
	}
	cs.total.Inc()
	start = i.clock.start()
	stage = inHandler
	resp, err = handler(ctx, req)
	stage = judging
	fail := i.failed(r, resp, err)
	stage = ended
	// end's body, inline: this call and a helper for the rules' last-shape
	// test (see shapes.lookup) together made the Proxy route 8-10% slower
	// under BenchmarkRatio.
	if fail {
		cs.fail.Inc()
	} else {
		cs.success.Inc()
	}
	if i.clock != nil {
		i.clock.observe(ctx, r.latency[0].get(), start)
	}
	return resp, err
}

// Stages of a unary call, for intercept's deferred call.
const (
	identifying = iota
	inHandler
	judging
	ended
)

// unidentified runs a unary call of the client-labelled route r whose
// client rule panicked: counted under the unknown client, and as fail
// whatever the handler does. A panic of the handler goes on.
func (i *Interceptor) unidentified(ctx context.Context, req any, r *route, handler grpc.UnaryHandler) (any, error) {
	cs := i.clients.counts(ClientID{}, r.clientIx)
	cs.total.Inc()
	defer i.end(ctx, r, 0, cs, true, i.clock.start())
	return handler(ctx, req)
}

// StreamServerInterceptor returns the interceptor to install with
// [grpc.ChainStreamInterceptor], for streaming methods that the map holds.
// A stream counts "total" when it opens and "success" or "fail" when the
// handler returns, by the same rules as a unary call with no response: an
// error (a client that cancels mid-stream usually ends it with Canceled, an
// expired deadline with DeadlineExceeded) or a panic is fail. The client
// rule sees the stream's context and a nil request, so without a
// [WithClientID] that reads the context, client-labelled streams count
// under [registry.UnknownClientLabel]. The histogram, when on, labels a
// stream's time with grpc_type from the stream's kind.
func (i *Interceptor) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		r := i.routes[info.FullMethod]
		if r == nil {
			return handler(srv, ss)
		}
		ctx := ss.Context()
		cs, broken := i.streamCounts(ctx, r)
		cs.total.Inc()
		start := i.clock.start()
		typ := typeIndex(info.IsClientStream, info.IsServerStream)
		finished := false
		defer func() {
			if !finished {
				i.end(ctx, r, typ, cs, true, start)
			}
		}()
		err := handler(srv, ss)
		finished = true
		i.end(ctx, r, typ, cs, broken || i.safeFailed(r, nil, err), start)
		return err
	}
}

// end counts a finished call of r, of grpc_type grpcType(typ).
func (i *Interceptor) end(ctx context.Context, r *route, typ int, cs *counts, fail bool, start time.Duration) {
	if fail {
		cs.fail.Inc()
	} else {
		cs.success.Inc()
	}
	if i.clock != nil {
		i.clock.observe(ctx, r.latency[typ].get(), start)
	}
}

// streamCounts returns the series of a stream of r; broken is true if the
// client rule panicked (recovered and logged), which counts the stream as
// fail under the unknown client.
func (i *Interceptor) streamCounts(ctx context.Context, r *route) (cs *counts, broken bool) {
	if r.fixed != nil {
		return r.fixed, false
	}
	defer func() {
		if p := recover(); p != nil {
			i.logClientPanic(r, p)
			cs, broken = i.clients.counts(ClientID{}, r.clientIx), true
		}
	}()
	return i.clientCounts(ctx, nil, r), false
}

// clientCounts returns the series of a call of the client-labelled route r,
// for the client that the client rule names. It may panic (in a
// [ClientIDFunc] or the default rule); its callers recover, log, and count
// the call as fail under the unknown client.
func (i *Interceptor) clientCounts(ctx context.Context, req any, r *route) *counts {
	var id ClientID
	if i.clientID != nil {
		id = i.clientID(ctx, req)
	} else if sid, found := i.shapes.sourceID(&r.lastReq, req); found {
		id = SourceID(sid)
	}
	return i.clients.counts(id, r.clientIx)
}

// failed judges a finished call by the route's classifier, the error and
// the status rule. It may panic (in a classifier, a StatusFunc or the
// default rule); its callers recover, log and judge the call fail.
func (i *Interceptor) failed(r *route, resp any, err error) bool {
	if r.classify != nil {
		switch r.classify(resp, err) {
		case Success:
			return false
		case Fail:
			return true
		}
	}
	if err != nil {
		return true
	}
	if i.status != nil {
		return i.status(resp)
	}
	return i.shapes.statusFailed(&r.lastResp, resp)
}

// safeFailed is failed with a panic recovered, logged and judged fail.
func (i *Interceptor) safeFailed(r *route, resp any, err error) (fail bool) {
	defer func() {
		if p := recover(); p != nil {
			i.logRulePanic(r, p)
			fail = true
		}
	}()
	return i.failed(r, resp, err)
}

func (i *Interceptor) logClientPanic(r *route, p any) {
	i.logger.Error("grpcmetrics: the client ID rule panicked; counting the call as fail under the unknown client",
		zap.String("method", r.method), zap.Any("panic", p))
}

func (i *Interceptor) logRulePanic(r *route, p any) {
	i.logger.Error("grpcmetrics: the outcome rule panicked; counting the call as fail",
		zap.String("method", r.method), zap.Any("panic", p))
}

// RemoveClient forgets the client id, the same [ClientID] that the client
// rule gives for its calls, such as [SourceID](42), and deletes the series
// of its client_id value ([ClientID.String], here "client_42") from every
// client-labelled counter, so that a client that left for good leaves no
// series behind. It reports whether anything was removed. Every ID that
// exports the same value is the same client (see [Label]), so
// Label("client_42") removes it too; Label("42") is another client. Call it
// together with the registry's RootCoord.RemoveProxy (which takes the
// value, id.String()) when a proxy's session ends. Every call that starts
// after RemoveClient returns is counted, in new series; a call of that
// client still in flight may count into a deleted series. The fixed clients,
// [registry.UnknownClientLabel] and [registry.OverflowClientLabel], are never
// removed: for them RemoveClient reports false.
func (i *Interceptor) RemoveClient(id ClientID) bool {
	return i.clients.remove(id)
}

// Register registers the interceptor's own metrics on r:
// grpcmetrics_client_id_overflow_total, grpcmetrics_client_ids and, with
// [WithHistogram], grpc_server_handling_seconds.
// Registering the same interceptor twice on r is a no-op. It is an error,
// saying so, when another interceptor's metrics are already registered on r
// (give each its own registry, or wrap r with
// [prometheus.WrapRegistererWith] and a distinguishing label), and for a
// nil r.
func (i *Interceptor) Register(r prometheus.Registerer) error {
	return register(r, "Interceptor", i)
}

// Describe implements [prometheus.Collector].
func (i *Interceptor) Describe(ch chan<- *prometheus.Desc) {
	i.overflowTotal.Describe(ch)
	i.tracked.Describe(ch)
	if i.handling != nil {
		i.handling.Describe(ch)
	}
}

// Collect implements [prometheus.Collector].
func (i *Interceptor) Collect(ch chan<- prometheus.Metric) {
	i.overflowTotal.Collect(ch)
	i.tracked.Collect(ch)
	if i.handling != nil {
		i.handling.Collect(ch)
	}
}
