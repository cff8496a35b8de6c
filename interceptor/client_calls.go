package interceptor

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/grpcmetrics/grpcmetrics/interceptor/internal/msgshape"
)

// clientEngine is one install on a client: the lifecycles of unary and
// stream client calls, and the sets they count into (see engine.go).
type clientEngine struct {
	provider *ClientMetrics // nil: not installed
	a66      *A66           // nil: not installed
	rules
	latency *latency // nil: no histogram
	clock   clock
	// timed: the clock is read, for the histogram or A66.
	timed  bool
	routes sync.Map // clientKey → *clientRoute
	report *incomplete
}

// newClientEngine makes the engine of a client install of the sets given
// (either may be nil).
func newClientEngine(provider *ClientMetrics, a66 *A66, rs rules, l *latency) *clientEngine {
	return &clientEngine{
		provider: provider, a66: a66, rules: rs, latency: l,
		clock: newClock(), timed: l != nil || a66 != nil,
		report: newIncomplete("client", rs.logger),
	}
}

// front returns a new front for one connection.
func (e *clientEngine) front() *clientFront {
	f := &clientFront{e: e}
	if e.a66 != nil {
		f.x = &a66Client{a: e.a66, clock: e.clock, report: e.report}
	}
	return f
}

// clientKey is a method as a client calls it: its kind and full name.
type clientKey struct {
	typ    int
	method string
}

// clientRoute is one method as a client install counts it. A client calls
// only its own code's methods, so each gets its route on its first call.
type clientRoute struct {
	method    string
	provider  *methodSeries
	latency   methodLatency
	lastReply msgshape.Last // the default status rule's last shape
}

func (e *clientEngine) route(fullMethod string, typ int) *clientRoute {
	key := clientKey{typ, fullMethod}
	if r, ok := e.routes.Load(key); ok {
		return r.(*clientRoute)
	}
	svc, name := splitMethod(fullMethod)
	r := &clientRoute{method: fullMethod}
	if e.provider != nil {
		r.provider = newMethodSeries(e.provider.fam, typ, svc, name)
		if e.latency != nil {
			r.latency = e.latency.newMethodLatency(typ, r.provider.service, r.provider.method)
		}
	}
	v, _ := e.routes.LoadOrStore(key, r)
	return v.(*clientRoute)
}

// clientFront is the client side of one connection: the interceptors and,
// with A66, the stats handler that counts its attempts (a66_client.go).
type clientFront struct {
	e *clientEngine
	x *a66Client // nil without A66
}

// clientCall is the state of one unary call: on the lifecycle's stack
// without A66, else (as a66ClientCall's part) the context node that the
// invoker gets, where the stats handler finds it.
type clientCall struct {
	r     *clientRoute
	ms    *methodSeries   // the provider's series; nil without them
	a66   *a66ClientRoute // A66's series; nil without A66
	start time.Duration
}

// unary is the unary client interceptor, and the lifecycle of a unary
// client call.
func (f *clientFront) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) (err error) {
	e := f.e
	var c clientCall
	var node *a66ClientCall
	c.r = e.route(method, unaryIx)
	if e.provider != nil {
		c.ms = c.r.provider.forContext(ctx)
		c.ms.began(true)
	}
	if f.x != nil {
		node = f.x.begin(ctx, cc, method, opts)
		c.a66, ctx = node.r, node
	}
	if e.timed {
		c.start = e.clock.now()
	}
	stage := inHandler
	defer func() {
		switch stage {
		case inHandler: // the invoker (another interceptor) panicked: counted, and the panic goes on
			e.end(ctx, &c, &ending{code: codes.Unknown, failed: true, panicked: true})
		case judging:
			if p := recover(); p != nil {
				e.logRulePanic(method, p)
				e.end(ctx, &c, &ending{code: codeOf(err), failed: true, err: err, ruleFailed: true})
			}
		}
	}()
	err = invoker(ctx, method, req, reply, cc, opts...)
	stage = judging
	how := ending{err: err}
	if err != nil {
		how.code, how.failed = codeOf(err), true
	} else if e.provider != nil {
		if e.status != nil { // the status rule, read once for every set
			how.bodyFailed = e.status(reply)
		} else {
			how.bodyFailed = e.shapes.StatusFailed(&c.r.lastReply, reply)
		}
		how.failed = how.bodyFailed
	}
	stage = ended
	e.end(ctx, &c, &how)
	if node != nil && err == nil && !node.attempted.Load() {
		e.report.missing(partStatsHandler, method)
	}
	return err
}

// stream is the stream client interceptor, and the lifecycle of a client
// stream, which ends in clientStream.finish.
func (f *clientFront) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	e := f.e
	s := &clientStream{e: e, serverStreams: desc.ServerStreams}
	s.call.r = e.route(method, typeIndex(desc.ClientStreams, desc.ServerStreams))
	if e.provider != nil {
		s.call.ms = s.call.r.provider.forContext(ctx)
		s.call.ms.began(false)
	}
	if f.x != nil {
		s.node.Context, s.node.x = ctx, f.x
		s.node.r = f.x.routeFor(ctx, cc, method, opts)
		s.node.began()
		s.call.a66, ctx = s.node.r, &s.node
	}
	s.ctx = ctx
	if e.timed {
		s.call.start = e.clock.now()
	}
	// opts may be shared with other calls (grpc-go passes a
	// connection's default call options as they are), so they are
	// copied, into s's own array while they fit, never appended to.
	withFinish := append(append(s.opts[:0], opts...), grpc.OnFinish(s.finish))
	returned := false
	defer func() {
		if !returned { // the streamer panicked; the panic goes on
			s.finishWith(&ending{code: codes.Unknown, failed: true, panicked: true})
		}
	}()
	cs, err := streamer(ctx, desc, cc, method, withFinish...)
	returned = true
	if err != nil {
		// grpc-go has ended the stream already if the streamer
		// reached it; an interceptor inside this one may have failed
		// without calling it.
		s.finish(err)
		return nil, err
	}
	if e.provider == nil {
		return cs, nil // nothing to count per message
	}
	s.ClientStream = cs
	return s, nil
}

// end tells each set how the call ended, and observes its latency.
func (e *clientEngine) end(ctx context.Context, c *clientCall, how *ending) {
	var elapsed time.Duration
	if e.timed {
		elapsed = e.clock.now() - c.start
	}
	if c.ms != nil {
		c.ms.ended(how, c.ms.typ == unaryIx)
	}
	if c.a66 != nil {
		c.a66.ended(e.a66.tuples, how, elapsed)
	}
	if e.latency != nil {
		e.latency.observeElapsed(ctx, c.r.latency.of(how.code).observer(), elapsed)
	}
}

// clientStream is a client stream's state: its call's, A66's context node
// (when A66 is installed), and, with the provider's families, the stream
// the caller gets, which counts its messages.
type clientStream struct {
	grpc.ClientStream // set once the streamer returns
	e                 *clientEngine
	ctx               context.Context
	call              clientCall
	node              a66ClientCall
	serverStreams     bool
	done              atomic.Bool
	// opts holds the call options passed to the streamer, when they fit.
	opts [4]grpc.CallOption
}

// finish counts the stream as handled with the error that ended it, the
// first time it is called; grpc-go calls it through [grpc.OnFinish], from
// any goroutine. io.EOF (which grpc-go passes as nil) is OK.
func (s *clientStream) finish(err error) {
	if errors.Is(err, io.EOF) {
		err = nil
	}
	s.finishWith(&ending{code: codeOf(err), failed: err != nil, err: err})
}

// finishWith counts the stream as ended as how says, the first time
// finish or finishWith is called.
func (s *clientStream) finishWith(how *ending) {
	if s.done.CompareAndSwap(false, true) {
		s.e.end(s.ctx, &s.call, how)
	}
}

func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	switch {
	case err == nil:
		s.call.ms.live().sent.counter().Inc()
	case !errors.Is(err, io.EOF):
		// grpc-go ends its streams here, and has called finish; this
		// ends a stream that an inner interceptor serves itself.
		s.finish(err)
	}
	return err
}

func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		s.call.ms.live().received.counter().Inc()
		if s.serverStreams {
			return nil
		}
	}
	// The stream's end, which grpc-go has counted through finish already,
	// unless an inner interceptor serves the stream itself, or (a server
	// that sends more than one reply where one is expected) grpc-go's
	// wrapper turned a message into an error without ending the stream.
	s.finish(err)
	return err
}
