package interceptor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/grpcmetrics/grpcmetrics/interceptor/internal/msgshape"
)

// serverEngine is one install on a server: the lifecycles of unary and
// stream server calls, and the sets they count into (see engine.go).
type serverEngine struct {
	milvus   *MilvusCounters // nil: not installed
	provider *ServerMetrics  // nil: not installed
	milvus26 *Milvus26       // nil: not installed
	rules
	latency *latency // nil: no histogram
	// timed: the clock is read, for the histogram or Milvus26.
	timed bool
	clock clock // the install's, A66's handler's too
	// a66 is the install's stats handler, the front for grpc-go's
	// events; nil without A66.
	a66    *a66ServerHandler
	report *incomplete

	routes  atomic.Pointer[map[string]*serverRoute] // by full method; replaced, never written
	unknown [numTypes]*serverRoute                  // the provider's methods no server registers
	mu      sync.Mutex                              // serialises rebuild
}

// serverRoute is one method as an install counts it: the series each set
// resolved for it, and what the engine keeps per method.
type serverRoute struct {
	milvus   *milvusRoute  // nil: the Milvus counters do not count the method
	provider *methodSeries // nil: the provider's families count it as unknown, or are not installed
	milvus26 *m26Route     // nil: Milvus26 is not installed
	latency  [numTypes]methodLatency
	lastResp msgshape.Last // the default status rule's last shape
}

// serverCall is the state of one call, on its lifecycle's stack: the
// series each set counts it in, and how it ended.
type serverCall struct {
	r        *serverRoute
	typ      int
	milvus   *counts       // nil: the Milvus counters do not count it
	provider *methodSeries // nil: the provider's families are not installed
	milvus26 *m26Series    // nil: Milvus26 does not count it
	start    time.Duration
	how      ending // how it ended, once it has
	// The Milvus counters' own rules: whether their client rule panicked
	// (the call then counts under the unknown client, as fail), and their
	// classifier's verdict. They decide the Milvus counters' count alone.
	milvusUnidentified bool
	milvusVerdict      Outcome
}

// milvusFailed reads how the call ended as the Milvus counters do: fail
// if their client rule panicked, else as the method's classifier says,
// else by the common rule (an error, a panic, a failing status, a shared
// rule's panic).
func (c *serverCall) milvusFailed() bool {
	v := c.milvusVerdict
	return c.milvusUnidentified || v == Fail || (v != Success && c.how.failed)
}

func newServerEngine(milvus *MilvusCounters, provider *ServerMetrics, milvus26 *Milvus26, a66 *A66, rs rules, l *latency) *serverEngine {
	e := &serverEngine{milvus: milvus, provider: provider, milvus26: milvus26, rules: rs, latency: l, clock: newClock()}
	e.timed = l != nil || (milvus26 != nil && (milvus26.reqLatency != nil || milvus26.grpcLatency != nil))
	e.report = newIncomplete("server", rs.logger)
	if a66 != nil {
		e.a66 = &a66ServerHandler{a: a66, clock: e.clock, report: e.report, intercepts: milvus != nil || provider != nil || milvus26 != nil}
	}
	if provider != nil {
		for ix := range numTypes {
			e.unknown[ix] = e.newRoute(UnknownMethod, UnknownMethod)
		}
	}
	e.rebuild() // and again at Init
	return e
}

// newRoute makes a route whose latency series are labelled service and
// name.
func (e *serverEngine) newRoute(service, name string) *serverRoute {
	r := &serverRoute{}
	if e.latency != nil {
		for ix := range numTypes {
			r.latency[ix] = e.latency.newMethodLatency(ix, service, name)
		}
	}
	return r
}

// rebuild makes the route table from the sets' routes: the Milvus map's
// methods, the methods that the provider's Init found, and the methods that
// Milvus26 has seen.
func (e *serverEngine) rebuild() {
	e.mu.Lock()
	defer e.mu.Unlock()
	table := make(map[string]*serverRoute)
	if e.provider != nil {
		for method, ms := range e.provider.registered() {
			r := e.newRoute(ms.service, ms.method)
			r.provider = ms
			if e.latency != nil && e.provider.initialSeries() {
				r.latency[ms.typ].initialise()
			}
			table[method] = r
		}
	}
	if e.milvus != nil {
		for method, mr := range e.milvus.routes {
			r := table[method]
			if r == nil {
				r = e.newRoute(mr.service, mr.name)
				table[method] = r
			}
			r.milvus = mr
		}
	}
	if e.milvus26 != nil {
		for method, r := range table {
			r.milvus26 = e.milvus26.route(method)
		}
		e.milvus26.routes.Range(func(k, v any) bool {
			if method := k.(string); table[method] == nil {
				table[method] = e.newMilvus26Route(method, v.(*m26Route))
			}
			return true
		})
	}
	e.routes.Store(&table)
}

// newMilvus26Route makes the route of a method that only Milvus26 counts.
// With the provider's families installed, the histogram labels it
// [UnknownMethod], as the provider does a method its Init did not find.
func (e *serverEngine) newMilvus26Route(method string, mr *m26Route) *serverRoute {
	var r *serverRoute
	if e.provider != nil {
		r = e.newRoute(UnknownMethod, UnknownMethod)
	} else {
		r = e.newRoute(splitMethod(method))
	}
	r.milvus26 = mr
	return r
}

// addMilvus26Route adds a route for a unary method that no route of the
// table counts yet, the first time one of its calls comes, and returns it.
// Only Milvus26 counts every method; a unary interceptor sees the methods
// the server registers, so the table stays bounded.
func (e *serverEngine) addMilvus26Route(method string) *serverRoute {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := *e.routes.Load()
	if r := old[method]; r != nil {
		return r
	}
	table := make(map[string]*serverRoute, len(old)+1)
	for k, v := range old {
		table[k] = v
	}
	r := e.newMilvus26Route(method, e.milvus26.route(method))
	table[method] = r
	e.routes.Store(&table)
	return r
}

// find fills in c's route, and the provider's series when it is
// installed, and reports whether any set counts the call. It changes
// nothing, so a call may be found again.
func (e *serverEngine) find(c *serverCall, fullMethod string) (counted bool) {
	c.r = (*e.routes.Load())[fullMethod]
	if c.r == nil && e.milvus26 != nil && c.typ == unaryIx {
		c.r = e.addMilvus26Route(fullMethod)
	}
	if e.provider != nil {
		e.findProvider(c)
	}
	return c.r != nil && (c.r.milvus != nil || c.provider != nil || (c.typ == unaryIx && c.r.milvus26 != nil))
}

// findProvider fills in the provider's part of c.
func (e *serverEngine) findProvider(c *serverCall) {
	if c.r != nil && c.r.provider != nil {
		c.provider = c.r.provider
		return
	}
	c.provider = e.provider.unknown[c.typ]
	if c.r == nil {
		c.r = e.unknown[c.typ]
	}
}

// unary is the unary server interceptor, and the lifecycle of a unary
// server call.
func (e *serverEngine) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	c := serverCall{typ: unaryIx}
	if e.a66 != nil {
		e.a66.intercepted(ctx, info.FullMethod)
	}
	if !e.find(&c, info.FullMethod) {
		return handler(ctx, req)
	}
	e.identify(ctx, &c, req, info.FullMethod)
	stage := inHandler
	defer func() {
		switch stage {
		case inHandler: // the handler panicked: counted, and the panic goes on
			c.how.code, c.how.failed, c.how.panicked = codes.Unknown, true, true
			e.end(ctx, &c)
		case judging: // the status rule, which every set shares, panicked
			if p := recover(); p != nil {
				e.logRulePanic(info.FullMethod, p)
				c.how.code, c.how.failed, c.how.err, c.how.ruleFailed = codeOf(err), true, err, true
				c.how.bodyFailed, c.how.errBodyFailed, c.how.statusInput, c.how.statusCode = false, false, false, 0
				e.end(ctx, &c)
			}
		}
	}()
	c.start = e.start()
	stage = inHandler
	resp, err = handler(ctx, req)
	stage = judging
	c.how.err = err
	if err != nil {
		c.how.code, c.how.failed = codeOf(err), true
		if c.milvus26 != nil && resp != nil && e.milvus26.line.causes() { // Milvus reads the status first
			c.how.errBodyFailed, c.how.statusCode = e.shapes.Status(&c.r.lastResp, resp)
		}
	} else {
		if e.status != nil { // the status rule, read once for every set
			c.how.bodyFailed = e.status(resp)
			if c.how.bodyFailed && c.milvus26 != nil { // and the code, for retry
				_, c.how.statusCode = e.shapes.Status(&c.r.lastResp, resp)
			}
		} else {
			c.how.bodyFailed, c.how.statusCode = e.shapes.Status(&c.r.lastResp, resp)
		}
		c.how.failed = c.how.bodyFailed
	}
	if (c.how.bodyFailed || c.how.errBodyFailed) && c.milvus26 != nil && e.milvus26.line.causes() { // for the cause
		c.how.statusInput = e.shapes.InputError(&c.r.lastResp, resp)
	}
	stage = ended
	if c.milvus != nil && c.r.milvus.classifier != nil {
		e.classify(&c, resp, err, info.FullMethod)
	}
	// end's body, written out as begin's is above: the unary path is the
	// hot one, and a call here costs a measurable share of it.
	if c.milvus != nil {
		c.milvus.ended(c.milvusFailed())
	}
	if c.provider != nil {
		c.provider.ended(&c.how, true)
	}
	var elapsed time.Duration // read only when the install is timed
	if e.timed {
		elapsed = e.since(c.start)
	}
	if c.milvus26 != nil {
		c.milvus26.ended(&c.how, elapsed)
	}
	if e.latency != nil {
		e.latency.observeElapsed(ctx, c.r.latency[unaryIx].of(c.how.code).observer(), elapsed)
	}
	return resp, err
}

// identify finds the call's series in each set that counts it, each set
// by its own rules, and tells each set that the call began. A panic of a
// set's rule (the Milvus counters' client rule, Milvus 2.6's getters, the
// context labels' function) is that set's alone: it is recovered where
// the rule runs, and changes no other set's count.
func (e *serverEngine) identify(ctx context.Context, c *serverCall, req any, fullMethod string) {
	if mr := c.r.milvus; mr != nil {
		if c.milvus = mr.fixed; c.milvus == nil {
			e.identifyMilvus(ctx, c, req, fullMethod)
		}
	}
	if c.typ == unaryIx && c.r.milvus26 != nil {
		e.identifyMilvus26(ctx, c, req, fullMethod)
	}
	if c.milvus != nil { // each set is told that the call began
		c.milvus.began()
	}
	if c.provider != nil {
		c.provider = c.provider.forContext(ctx) // the child of the call's context labels
		if e.provider.methods.Load() == nil {
			e.provider.beforeInit.Inc()
			e.report.beforeInit(fullMethod)
		}
		c.provider.began(c.typ == unaryIx)
	}
	if c.milvus26 != nil {
		c.milvus26.began()
	}
}

// identifyMilvus finds the Milvus counters' series of a call of a
// client-labelled route, by their client rule; if it panics, the call
// counts under the unknown client, as fail, in those counters.
func (e *serverEngine) identifyMilvus(ctx context.Context, c *serverCall, req any, fullMethod string) {
	defer func() {
		if p := recover(); p != nil {
			e.logClientPanic(fullMethod, p)
			c.milvus, c.milvusUnidentified = e.milvus.clientCounts(ctx, req, c.r.milvus, true), true
		}
	}()
	c.milvus = e.milvus.clientCounts(ctx, req, c.r.milvus, false)
}

// identifyMilvus26 finds Milvus 2.6's series of a call, by the request's
// getters; if one panics, the call counts under the pair ("", "").
func (e *serverEngine) identifyMilvus26(ctx context.Context, c *serverCall, req any, fullMethod string) {
	defer func() {
		if p := recover(); p != nil {
			e.logClientPanic(fullMethod, p)
			c.milvus26 = e.milvus26.seriesOf(ctx, req, c.r.milvus26, true)
		}
	}()
	c.milvus26 = e.milvus26.seriesOf(ctx, req, c.r.milvus26, false)
}

// classify asks the method's classifier, the Milvus counters' own rule,
// for its verdict; if it panics, the call is fail in those counters alone.
func (e *serverEngine) classify(c *serverCall, resp any, err error, fullMethod string) {
	defer func() {
		if p := recover(); p != nil {
			e.logRulePanic(fullMethod, p)
			c.milvusVerdict = Fail
		}
	}()
	c.milvusVerdict = c.r.milvus.classify(resp, err)
}

// stream is the stream server interceptor, and the lifecycle of a stream
// server call, as unary. A stream has no response to judge: the status
// rule does not see it, and a classifier sees a nil response.
func (e *serverEngine) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	c := serverCall{typ: typeIndex(info.IsClientStream, info.IsServerStream)}
	if e.a66 != nil {
		e.a66.intercepted(ss.Context(), info.FullMethod)
	}
	if !e.find(&c, info.FullMethod) {
		return handler(srv, ss)
	}
	ctx := ss.Context()
	e.identify(ctx, &c, nil, info.FullMethod)
	returned := false
	defer func() {
		if !returned { // the handler panicked: counted, and the panic goes on
			c.how.code, c.how.failed, c.how.panicked = codes.Unknown, true, true
			e.end(ctx, &c)
		}
	}()
	c.start = e.start()
	if c.provider != nil {
		err = handler(srv, &countedServerStream{ServerStream: ss, ms: c.provider})
	} else {
		err = handler(srv, ss)
	}
	returned = true
	c.how.code, c.how.failed, c.how.err = codeOf(err), err != nil, err
	if c.milvus != nil && c.r.milvus.classifier != nil {
		e.classify(&c, nil, err, info.FullMethod)
	}
	e.end(ctx, &c)
	return err
}

// end tells each set how the call ended, c.how, and observes its latency.
func (e *serverEngine) end(ctx context.Context, c *serverCall) {
	if c.milvus != nil {
		c.milvus.ended(c.milvusFailed())
	}
	if c.provider != nil {
		c.provider.ended(&c.how, c.typ == unaryIx)
	}
	var elapsed time.Duration // read only when the install is timed
	if e.timed {
		elapsed = e.since(c.start)
	}
	if c.milvus26 != nil {
		c.milvus26.ended(&c.how, elapsed)
	}
	if e.latency != nil {
		e.latency.observeElapsed(ctx, c.r.latency[c.typ].of(c.how.code).observer(), elapsed)
	}
}

// start returns the start of a call: the time since the epoch, or 0 if
// the install is not timed, so that the clock is read only when needed.
func (e *serverEngine) start() time.Duration {
	if !e.timed {
		return 0
	}
	return e.clock.now()
}

// since returns the time since start, a reading of start.
func (e *serverEngine) since(start time.Duration) time.Duration {
	return e.clock.now() - start
}

// countedServerStream counts a server stream's messages in the series of
// its call, ms (see methodSeries.live).
type countedServerStream struct {
	grpc.ServerStream
	ms *methodSeries
}

func (s *countedServerStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.ms.live().received.counter().Inc()
	}
	return err
}

func (s *countedServerStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		s.ms.live().sent.counter().Inc()
	}
	return err
}
