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
	milvus   *Interceptor   // nil: not installed
	provider *ServerMetrics // nil: not installed
	rules
	latency *latency // nil: no histogram, and the clock is never read

	routes  atomic.Pointer[map[string]*serverRoute] // by full method; replaced, never written
	unknown [numTypes]*serverRoute                  // the provider's methods no server registers
	mu      sync.Mutex                              // serialises rebuild
}

// serverRoute is one method as an install counts it: the series each set
// resolved for it, and what the engine keeps per method.
type serverRoute struct {
	milvus   *milvusRoute  // nil: the Milvus counters do not count the method
	provider *methodSeries // nil: the provider's families count it as unknown, or are not installed
	latency  [numTypes]series
	lastResp msgshape.Last // the default status rule's last shape
}

// serverCall is the state of one call, on its lifecycle's stack.
type serverCall struct {
	r        *serverRoute
	typ      int
	milvus   *counts       // nil: the Milvus counters do not count it
	provider *methodSeries // nil: the provider's families are not installed
	start    time.Duration
	how      ending // how it ended, once it has
}

func newServerEngine(milvus *Interceptor, provider *ServerMetrics, rs rules, l *latency) *serverEngine {
	e := &serverEngine{milvus: milvus, provider: provider, rules: rs, latency: l}
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
			r.latency[ix] = series{vec: e.latency.vec.MetricVec, labels: []string{grpcType(ix), service, name}}
		}
	}
	return r
}

// rebuild makes the route table from the sets' routes: the Milvus map's
// methods, and the methods that the provider's Init found.
func (e *serverEngine) rebuild() {
	e.mu.Lock()
	defer e.mu.Unlock()
	table := make(map[string]*serverRoute)
	if e.provider != nil {
		for method, ms := range e.provider.registered() {
			r := e.newRoute(ms.service, ms.method)
			r.provider = ms
			if e.latency != nil && e.provider.initialSeries() {
				r.latency[ms.typ].get()
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
	e.routes.Store(&table)
}

// find fills in c's route, and the provider's series when it is
// installed, and reports whether any set counts the call. It changes
// nothing, so a call may be found again.
func (e *serverEngine) find(c *serverCall, fullMethod string) (counted bool) {
	c.r = (*e.routes.Load())[fullMethod]
	if e.provider != nil {
		e.findProvider(c)
	}
	return c.r != nil
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
	if c.milvus != nil { // each set is told that the call began
		c.milvus.began()
	}
	if c.provider != nil {
		e.provider.began(c.provider, c.typ == unaryIx, info.FullMethod)
	}
	c.start = e.latency.start()
	stage = inHandler
	resp, err = handler(ctx, req)
	stage = judging
	c.how.err = err
	if err != nil {
		c.how.code, c.how.failed = codeOf(err), true
	} else {
		if e.status != nil { // the status rule, read once for every set
			c.how.bodyFailed = e.status(resp)
		} else {
			c.how.bodyFailed = e.shapes.StatusFailed(&c.r.lastResp, resp)
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
	if e.latency != nil {
		e.latency.observe(ctx, c.r.latency[unaryIx].observer(), c.start)
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
		e.provider.began(c.provider, c.typ == unaryIx, info.FullMethod)
	}
	c.start = e.latency.start()
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
	if e.latency != nil {
		e.latency.observe(ctx, c.r.latency[c.typ].observer(), c.start)
	}
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
