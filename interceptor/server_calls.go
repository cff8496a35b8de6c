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
	// timed: the clock is read, for the histogram or Milvus26; it measures
	// from epoch, as latency's does (see latency).
	timed bool
	epoch time.Time

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

// serverCall is the state of one call, on its lifecycle's stack.
type serverCall struct {
	r        *serverRoute
	typ      int
	milvus   *counts       // nil: the Milvus counters do not count it
	provider *methodSeries // nil: the provider's families are not installed
	milvus26 *m26Series    // nil: Milvus26 does not count it
	start    time.Duration
	how      ending // how it ended, once it has
}

func newServerEngine(milvus *MilvusCounters, provider *ServerMetrics, milvus26 *Milvus26, rs rules, l *latency) *serverEngine {
	e := &serverEngine{milvus: milvus, provider: provider, milvus26: milvus26, rules: rs, latency: l}
	e.timed, e.epoch = l != nil || (milvus26 != nil && milvus26.reqLatency != nil), time.Now()
	if provider != nil {
		for ix := range numTypes {
			e.unknown[ix] = e.newRoute(UnknownMethod, UnknownMethod)
		}
		provider.addInstall(e) // rebuilds e now, and again at Init
	} else {
		e.rebuild()
	}
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

// unary is the unary server interceptor.
func (e *serverEngine) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return e.unaryCall(ctx, req, info, handler, false)
}

// unaryCall is the lifecycle of a unary server call. unidentified is true
// only when it runs the call again, after the client rule panicked.
func (e *serverEngine) unaryCall(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler, unidentified bool) (resp any, err error) {
	c := serverCall{typ: unaryIx, how: ending{unidentified: unidentified}}
	if !e.find(&c, info.FullMethod) {
		return handler(ctx, req)
	}
	stage := identifying
	defer func() {
		switch stage {
		case identifying: // the client rule panicked: the call again, unidentified
			if p := recover(); p != nil {
				e.logClientPanic(info.FullMethod, p)
				resp, err = e.unaryCall(ctx, req, info, handler, true)
			}
		case inHandler: // the handler panicked: counted, and the panic goes on
			c.how.code, c.how.failed, c.how.panicked = codes.Unknown, true, true
			e.end(ctx, &c)
		case judging:
			if p := recover(); p != nil {
				e.logRulePanic(info.FullMethod, p)
				c.how.code, c.how.failed, c.how.err, c.how.ruleFailed = codeOf(err), true, err, true
				c.how.bodyFailed, c.how.verdict = false, Default
				e.end(ctx, &c)
			}
		}
	}()
	if mr := c.r.milvus; mr != nil {
		if c.milvus = mr.fixed; c.milvus == nil {
			c.milvus = e.milvus.clientCounts(ctx, req, mr, unidentified)
		}
	}
	if mr := c.r.milvus26; mr != nil {
		c.milvus26 = e.milvus26.seriesOf(ctx, req, mr, unidentified)
	}
	if c.milvus != nil { // each set is told that the call began
		c.milvus.began()
	}
	if c.provider != nil {
		c.provider = c.provider.forContext(ctx) // the child of the call's context labels
		e.provider.began(c.provider, c.typ == unaryIx, info.FullMethod)
	}
	if c.milvus26 != nil {
		c.milvus26.began()
	}
	c.start = e.start()
	stage = inHandler
	resp, err = handler(ctx, req)
	stage = judging
	c.how.err = err
	if err != nil {
		c.how.code, c.how.failed = codeOf(err), true
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
	if c.milvus != nil {
		c.how.verdict = c.r.milvus.classify(resp, err)
	}
	stage = ended
	// end's body, written out as begin's is above: the unary path is the
	// hot one, and a call here costs a measurable share of it.
	if c.milvus != nil {
		c.milvus.ended(c.how.milvusFailed())
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

// stream is the stream server interceptor.
func (e *serverEngine) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return e.streamCall(srv, ss, info, handler, false)
}

// streamCall is the lifecycle of a stream server call, as unaryCall. A
// stream has no response to judge: the status rule does not see it, and a
// classifier sees a nil response.
func (e *serverEngine) streamCall(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler, unidentified bool) (err error) {
	c := serverCall{typ: typeIndex(info.IsClientStream, info.IsServerStream), how: ending{unidentified: unidentified}}
	if !e.find(&c, info.FullMethod) {
		return handler(srv, ss)
	}
	ctx := ss.Context()
	stage := identifying
	defer func() {
		switch stage {
		case identifying:
			if p := recover(); p != nil {
				e.logClientPanic(info.FullMethod, p)
				err = e.streamCall(srv, ss, info, handler, true)
			}
		case inHandler:
			c.how.code, c.how.failed, c.how.panicked = codes.Unknown, true, true
			e.end(ctx, &c)
		case judging:
			if p := recover(); p != nil {
				e.logRulePanic(info.FullMethod, p)
				c.how.code, c.how.failed, c.how.err, c.how.ruleFailed = codeOf(err), true, err, true
				c.how.bodyFailed, c.how.verdict = false, Default
				e.end(ctx, &c)
			}
		}
	}()
	if mr := c.r.milvus; mr != nil {
		if c.milvus = mr.fixed; c.milvus == nil {
			c.milvus = e.milvus.clientCounts(ctx, nil, mr, unidentified)
		}
	}
	if c.milvus != nil { // each set is told that the call began
		c.milvus.began()
	}
	if c.provider != nil {
		c.provider = c.provider.forContext(ctx) // the child of the call's context labels
		e.provider.began(c.provider, c.typ == unaryIx, info.FullMethod)
	}
	c.start = e.start()
	stage = inHandler
	if c.provider != nil {
		err = handler(srv, &countedServerStream{ServerStream: ss, received: &c.provider.received, sent: &c.provider.sent})
	} else {
		err = handler(srv, ss)
	}
	stage = judging
	c.how.code, c.how.failed, c.how.err = codeOf(err), err != nil, err
	if c.milvus != nil {
		c.how.verdict = c.r.milvus.classify(nil, err)
	}
	stage = ended
	e.end(ctx, &c)
	return err
}

// end tells each set how the call ended, c.how, and observes its latency.
func (e *serverEngine) end(ctx context.Context, c *serverCall) {
	if c.milvus != nil {
		c.milvus.ended(c.how.milvusFailed())
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
	return time.Since(e.epoch)
}

// since returns the time since start, a reading of start.
func (e *serverEngine) since(start time.Duration) time.Duration {
	return time.Since(e.epoch) - start
}

// countedServerStream counts a server stream's messages.
type countedServerStream struct {
	grpc.ServerStream
	received, sent *series
}

func (s *countedServerStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.received.counter().Inc()
	}
	return err
}

func (s *countedServerStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		s.sent.counter().Inc()
	}
	return err
}
