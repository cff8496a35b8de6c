package interceptor

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
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
	method   string
	milvus   *milvusRoute  // nil: the Milvus counters do not count the method
	provider *methodSeries // nil: the provider's families count it as unknown, or are not installed
	latency  [numTypes]lazy[prometheus.Observer]
	lastResp msgshape.Last // the default status rule's last shape
}

// serverCall is the state of one call, on its lifecycle's stack.
type serverCall struct {
	r            *serverRoute
	typ          int
	milvus       *counts       // nil: the Milvus counters do not count it
	provider     *methodSeries // nil: the provider's families are not installed
	unidentified bool          // the client rule panicked
	start        time.Duration
}

func newServerEngine(milvus *Interceptor, provider *ServerMetrics, rs rules, l *latency) *serverEngine {
	e := &serverEngine{milvus: milvus, provider: provider, rules: rs, latency: l}
	if provider != nil {
		for ix := range numTypes {
			e.unknown[ix] = e.newRoute("", UnknownMethod, UnknownMethod)
		}
		provider.addInstall(e) // rebuilds e now, and again at Init
	} else {
		e.rebuild()
	}
	return e
}

// newRoute makes a route whose latency series are labelled service and
// name.
func (e *serverEngine) newRoute(method, service, name string) *serverRoute {
	r := &serverRoute{method: method}
	if e.latency != nil {
		for ix := range numTypes {
			r.latency[ix] = lazy[prometheus.Observer]{with: e.latency.vec.WithLabelValues, labels: []string{grpcType(ix), service, name}}
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
			r := e.newRoute(method, ms.service, ms.method)
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
				r = e.newRoute(method, mr.service, mr.name)
				table[method] = r
			}
			r.milvus = mr
		}
	}
	e.routes.Store(&table)
}

// find returns the state of a call of fullMethod of kind typ, before any
// rule runs, and whether any set counts it.
func (e *serverEngine) find(fullMethod string, typ int) (c serverCall, counted bool) {
	c.typ = typ
	c.r = (*e.routes.Load())[fullMethod]
	if c.r != nil && c.r.milvus != nil {
		c.milvus = c.r.milvus.fixed // nil for client-labelled routes: identified later
	}
	if e.provider != nil {
		if c.r != nil && c.r.provider != nil {
			c.provider = c.r.provider
		} else {
			c.provider = e.provider.unknownMethod(fullMethod, typ)
			if c.r == nil {
				c.r = e.unknown[typ]
			}
		}
	}
	return c, c.r != nil
}

// unary is the unary server interceptor.
func (e *serverEngine) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	c, counted := e.find(info.FullMethod, unaryIx)
	if !counted {
		return handler(ctx, req)
	}
	return e.unaryCall(ctx, req, handler, c)
}

// unaryCall is the lifecycle of a unary server call.
func (e *serverEngine) unaryCall(ctx context.Context, req any, handler grpc.UnaryHandler, c serverCall) (resp any, err error) {
	stage := identifying
	defer func() {
		switch stage {
		case identifying: // the client rule panicked: the call again, unidentified
			if p := recover(); p != nil {
				e.logClientPanic(c.r.method, p)
				c.milvus, c.unidentified = e.milvus.unknownCounts(c.r.milvus), true
				resp, err = e.unaryCall(ctx, req, handler, c)
			}
		case inHandler: // the handler panicked: counted, and the panic goes on
			e.end(ctx, &c, ending{code: codes.Unknown, panicked: true})
		case judging:
			if p := recover(); p != nil {
				e.logRulePanic(c.r.method, p)
				e.end(ctx, &c, ending{code: codeOf(err), err: err, ruleFailed: true})
			}
		}
	}()
	if c.milvus == nil && c.r.milvus != nil {
		c.milvus = e.milvus.clientCounts(ctx, req, c.r.milvus)
	}
	e.begin(&c)
	c.start = e.latency.start()
	stage = inHandler
	resp, err = handler(ctx, req)
	stage = judging
	how := ending{code: codeOf(err), err: err}
	if err == nil {
		how.bodyFailed = e.bodyFailed(&c.r.lastResp, resp)
	}
	if c.milvus != nil {
		how.verdict = c.r.milvus.classify(resp, err)
	}
	stage = ended
	e.end(ctx, &c, how)
	return resp, err
}

// stream is the stream server interceptor.
func (e *serverEngine) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	c, counted := e.find(info.FullMethod, typeIndex(info.IsClientStream, info.IsServerStream))
	if !counted {
		return handler(srv, ss)
	}
	return e.streamCall(srv, ss, handler, c)
}

// streamCall is the lifecycle of a stream server call. A stream has no
// response to judge: the status rule does not see it, and a classifier
// sees a nil response.
func (e *serverEngine) streamCall(srv any, ss grpc.ServerStream, handler grpc.StreamHandler, c serverCall) (err error) {
	ctx := ss.Context()
	stage := identifying
	defer func() {
		switch stage {
		case identifying:
			if p := recover(); p != nil {
				e.logClientPanic(c.r.method, p)
				c.milvus, c.unidentified = e.milvus.unknownCounts(c.r.milvus), true
				err = e.streamCall(srv, ss, handler, c)
			}
		case inHandler:
			e.end(ctx, &c, ending{code: codes.Unknown, panicked: true})
		case judging:
			if p := recover(); p != nil {
				e.logRulePanic(c.r.method, p)
				e.end(ctx, &c, ending{code: codeOf(err), err: err, ruleFailed: true})
			}
		}
	}()
	if c.milvus == nil && c.r.milvus != nil {
		c.milvus = e.milvus.clientCounts(ctx, nil, c.r.milvus)
	}
	e.begin(&c)
	c.start = e.latency.start()
	stage = inHandler
	if c.provider != nil {
		err = handler(srv, &countedServerStream{ServerStream: ss, received: &c.provider.received, sent: &c.provider.sent})
	} else {
		err = handler(srv, ss)
	}
	stage = judging
	how := ending{code: codeOf(err), err: err}
	if c.milvus != nil {
		how.verdict = c.r.milvus.classify(nil, err)
	}
	stage = ended
	e.end(ctx, &c, how)
	return err
}

// begin tells each set that the call began.
func (e *serverEngine) begin(c *serverCall) {
	if c.milvus != nil {
		c.milvus.began()
	}
	if c.provider != nil {
		c.provider.began(c.typ == unaryIx)
	}
}

// end tells each set how the call ended, and observes its latency.
func (e *serverEngine) end(ctx context.Context, c *serverCall, how ending) {
	if c.milvus != nil {
		c.milvus.ended(how, c.unidentified)
	}
	if c.provider != nil {
		c.provider.ended(how, c.typ == unaryIx)
	}
	if e.latency != nil {
		e.latency.observe(ctx, c.r.latency[c.typ].get(), c.start)
	}
}

// countedServerStream counts a server stream's messages.
type countedServerStream struct {
	grpc.ServerStream
	received, sent *lazy[prometheus.Counter]
}

func (s *countedServerStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.received.get().Inc()
	}
	return err
}

func (s *countedServerStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		s.sent.get().Inc()
	}
	return err
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
