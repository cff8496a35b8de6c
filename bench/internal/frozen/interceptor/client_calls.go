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

	"github.com/grpcmetrics/grpcmetrics/bench/internal/frozen/interceptor/internal/msgshape"
)

// clientEngine is one install on a client: the lifecycles of unary and
// stream client calls, and the sets they count into (see engine.go).
type clientEngine struct {
	provider *ClientMetrics
	rules
	latency *latency // nil: no histogram, and the clock is never read
	routes  sync.Map // clientKey → *clientRoute
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
	r := &clientRoute{method: fullMethod, provider: newMethodSeries(e.provider.fam, typ, svc, name)}
	if e.latency != nil {
		ms := r.provider
		r.latency = e.latency.newMethodLatency(typ, ms.service, ms.method)
	}
	v, _ := e.routes.LoadOrStore(key, r)
	return v.(*clientRoute)
}

// unary is the unary client interceptor, and the lifecycle of a unary
// client call.
func (e *clientEngine) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) (err error) {
	r := e.route(method, unaryIx)
	ms := r.provider.forContext(ctx)
	ms.began(true)
	start := e.latency.start()
	stage := inHandler
	defer func() {
		switch stage {
		case inHandler: // the invoker (another interceptor) panicked: counted, and the panic goes on
			e.end(ctx, r, ms, &ending{code: codes.Unknown, failed: true, panicked: true}, start)
		case judging:
			if p := recover(); p != nil {
				e.logRulePanic(method, p)
				e.end(ctx, r, ms, &ending{code: codeOf(err), failed: true, err: err, ruleFailed: true}, start)
			}
		}
	}()
	err = invoker(ctx, method, req, reply, cc, opts...)
	stage = judging
	how := ending{err: err}
	if err != nil {
		how.code, how.failed = codeOf(err), true
	} else {
		if e.status != nil { // the status rule, read once for every set
			how.bodyFailed = e.status(reply)
		} else {
			how.bodyFailed = e.shapes.StatusFailed(&r.lastReply, reply)
		}
		how.failed = how.bodyFailed
	}
	stage = ended
	e.end(ctx, r, ms, &how, start)
	return err
}

// stream is the stream client interceptor, and the lifecycle of a client
// stream, which ends in countedClientStream.finish.
func (e *clientEngine) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	r := e.route(method, typeIndex(desc.ClientStreams, desc.ServerStreams))
	ms := r.provider.forContext(ctx)
	ms.began(false)
	s := &countedClientStream{e: e, ctx: ctx, r: r, ms: ms, start: e.latency.start(), serverStreams: desc.ServerStreams}
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
	s.ClientStream = cs
	return s, nil
}

// end tells each set how the call ended, and observes its latency; ms
// are the call's series (see forContext).
func (e *clientEngine) end(ctx context.Context, r *clientRoute, ms *methodSeries, how *ending, start time.Duration) {
	ms.ended(how, ms.typ == unaryIx)
	if e.latency != nil {
		e.latency.observe(ctx, r.latency.of(how.code).observer(), start)
	}
}

// countedClientStream counts a client stream's messages and its end.
type countedClientStream struct {
	grpc.ClientStream // set once the streamer returns
	e                 *clientEngine
	ctx               context.Context
	r                 *clientRoute
	ms                *methodSeries // the call's series
	start             time.Duration
	serverStreams     bool
	done              atomic.Bool
	// opts holds the call options passed to the streamer, when they fit.
	opts [4]grpc.CallOption
}

// finish counts the stream as handled with the error that ended it, the
// first time it is called; grpc-go calls it through [grpc.OnFinish], from
// any goroutine. io.EOF (which grpc-go passes as nil) is OK.
func (s *countedClientStream) finish(err error) {
	if errors.Is(err, io.EOF) {
		err = nil
	}
	s.finishWith(&ending{code: codeOf(err), failed: err != nil, err: err})
}

// finishWith counts the stream as ended as how says, the first time
// finish or finishWith is called.
func (s *countedClientStream) finishWith(how *ending) {
	if s.done.CompareAndSwap(false, true) {
		s.e.end(s.ctx, s.r, s.ms, how, s.start)
	}
}

func (s *countedClientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	switch {
	case err == nil:
		s.ms.sent.counter().Inc()
	case !errors.Is(err, io.EOF):
		// grpc-go ends its streams here, and has called finish; this
		// ends a stream that an inner interceptor serves itself.
		s.finish(err)
	}
	return err
}

func (s *countedClientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		s.ms.received.counter().Inc()
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
