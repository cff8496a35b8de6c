package interceptor

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
)

// a66Client is the client side of one DialOptions: its interceptors and
// its stats handler, and the connection it last served.
type a66Client struct {
	a    *A66
	conn atomic.Pointer[a66Conn]
}

// a66Conn is a connection's target and its routes.
type a66Conn struct {
	cc     *grpc.ClientConn
	target string
	other  *a66ClientRoute
	mu     sync.Mutex                                 // serialises additions to routes
	routes atomic.Pointer[map[string]*a66ClientRoute] // by full method; replaced, never written
}

// a66ClientRoute is one (grpc_method, grpc_target) pair's series, each
// resolved on its first use.
type a66ClientRoute struct {
	method, target            string // the grpc_method and grpc_target values
	started                   series
	attempt, sent, rcvd, call [a66NumCodes]series
	inFlight                  series // its vec is nil unless WithInFlight
}

// newClientRoute makes the route of method and target, with the context
// label values extra (none: the pair's own).
func (a *A66) newClientRoute(method, target string, extra ...string) *a66ClientRoute {
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
	return r
}

// connOf returns cc's state, made when cc is not the connection x last
// served: CanonicalTarget builds a new string on each call.
func (x *a66Client) connOf(cc *grpc.ClientConn) *a66Conn {
	if c := x.conn.Load(); c != nil && c.cc == cc {
		return c
	}
	target := strings.ToValidUTF8(cc.CanonicalTarget(), "\uFFFD")
	c := &a66Conn{cc: cc, target: target, other: x.a.newClientRoute(A66Other, target)}
	x.conn.Store(c)
	return c
}

// route returns the route of a call of method on cc with opts: the
// method's if the call carries grpc.StaticMethod or WithClientServices
// names it, else A66Other's.
func (x *a66Client) route(cc *grpc.ClientConn, method string, opts []grpc.CallOption) *a66ClientRoute {
	c := x.connOf(cc)
	static := false
	for _, o := range opts {
		if _, ok := o.(grpc.StaticMethodCallOption); ok {
			static = true
			break
		}
	}
	if !static && !x.a.clientMethods[method] {
		return c.other
	}
	if t := c.routes.Load(); t != nil {
		if r := (*t)[method]; r != nil {
			return r
		}
	}
	return c.addRoute(x.a, method)
}

// addRoute adds the route of a static method, on its first call. The
// methods a client calls with grpc.StaticMethod are its generated code's:
// the table stays bounded.
func (c *a66Conn) addRoute(a *A66, method string) *a66ClientRoute {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[string]*a66ClientRoute
	if t := c.routes.Load(); t != nil {
		old = *t
	}
	if r := old[method]; r != nil {
		return r
	}
	table := make(map[string]*a66ClientRoute, len(old)+1)
	for k, v := range old {
		table[k] = v
	}
	r := a.newClientRoute(strings.TrimLeft(method, "/"), c.target)
	table[strings.Clone(method)] = r
	c.routes.Store(&table)
	return r
}

// a66ClientKey is the context key of a client call's state: of one
// DialOptions', so that two A66 on one connection each find their own.
type a66ClientKey struct{ x *a66Client }

// a66ClientCall is the state of one client call, inline in the context
// node the interceptor adds: a unary call's first allocation.
type a66ClientCall struct {
	context.Context
	x *a66Client // whose state it is
	r *a66ClientRoute
}

// Value returns the call itself for its key, and asks the parent for any
// other.
func (c *a66ClientCall) Value(key any) any {
	if k, ok := key.(a66ClientKey); ok && k.x == c.x {
		return c
	}
	return c.Context.Value(key)
}

// unary is the unary client interceptor: it times the call, from before
// the invoker to after, and records it with status.Code of its error.
func (x *a66Client) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	call := &a66ClientCall{Context: ctx, x: x, r: x.a.clientRouteFor(ctx, x.route(cc, method, opts))}
	if call.r.inFlight.vec != nil {
		call.r.inFlight.gauge().Inc()
	}
	start := x.a.now()
	err := invoker(call, method, req, reply, cc, opts...)
	call.r.call[a66CodeIx(a66Code(err))].observer().Observe((x.a.now() - start).Seconds())
	if call.r.inFlight.vec != nil {
		call.r.inFlight.gauge().Dec()
	}
	return err
}

// a66ClientStream is a client stream's state: its call's, and what its
// end needs.
type a66ClientStream struct {
	a66ClientCall
	a     *A66
	start time.Duration
	// opts holds the call options passed to the streamer, when they fit.
	opts [4]grpc.CallOption
	// inFlight is whether the stream counts in the in-flight gauge: set
	// as it starts, cleared once, by finish or by a failed streamer.
	inFlight atomic.Bool
}

// stream is the stream client interceptor: it times the stream until
// grpc-go ends it, through grpc.OnFinish, as the plugin does; a stream
// that grpc-go never creates has no call duration, as in the plugin.
func (x *a66Client) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s := &a66ClientStream{a: x.a}
	s.Context, s.x, s.r = ctx, x, x.a.clientRouteFor(ctx, x.route(cc, method, opts))
	s.start = x.a.now()
	// opts may be shared with other calls: copied, never appended to.
	withFinish := append(append(s.opts[:0], grpc.OnFinish(s.finish)), opts...)
	if s.r.inFlight.vec != nil {
		s.inFlight.Store(true)
		s.r.inFlight.gauge().Inc()
	}
	cs, err := streamer(&s.a66ClientCall, desc, cc, method, withFinish...)
	if err != nil {
		// grpc-go may fail before it would call finish.
		s.leave()
	}
	return cs, err
}

// finish records the stream's call duration; grpc-go calls it once.
func (s *a66ClientStream) finish(err error) {
	s.r.call[a66CodeIx(a66Code(err))].observer().Observe((s.a.now() - s.start).Seconds())
	s.leave()
}

// leave takes the stream out of the in-flight gauge, once.
func (s *a66ClientStream) leave() {
	if s.inFlight.CompareAndSwap(true, false) {
		s.r.inFlight.gauge().Dec()
	}
}

// a66Attempt is the state of one attempt, inline in the context node that
// TagRPC adds.
type a66Attempt struct {
	context.Context
	x          *a66Client // whose state it is
	r          *a66ClientRoute
	start      time.Duration
	sent, rcvd atomic.Int64
}

// a66AttemptKey is the context key of an attempt's state, as a66ClientKey.
type a66AttemptKey struct{ x *a66Client }

// Value returns the attempt itself for its key, and asks the parent for
// any other.
func (t *a66Attempt) Value(key any) any {
	if k, ok := key.(a66AttemptKey); ok && k.x == t.x {
		return t
	}
	return t.Context.Value(key)
}

func (x *a66Client) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (x *a66Client) HandleConn(context.Context, stats.ConnStats) {}

// TagRPC starts an attempt of the call the interceptor began; an attempt
// of a call it did not see is not counted.
func (x *a66Client) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	call, ok := ctx.Value(a66ClientKey{x}).(*a66ClientCall)
	if !ok {
		return ctx
	}
	return &a66Attempt{Context: ctx, x: x, r: call.r, start: x.a.now()}
}

// HandleRPC counts the attempt as started at its Begin, adds up its
// messages' compressed lengths, and records its duration and sizes at its
// end, with its status.
func (x *a66Client) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	t, ok := ctx.(*a66Attempt)
	if !ok || t.x != x {
		if t, ok = ctx.Value(a66AttemptKey{x}).(*a66Attempt); !ok {
			return
		}
	}
	switch st := rs.(type) {
	case *stats.Begin:
		t.r.started.counter().Inc()
	case *stats.OutPayload:
		t.sent.Add(int64(st.CompressedLength))
	case *stats.InPayload:
		t.rcvd.Add(int64(st.CompressedLength))
	case *stats.End:
		d := (x.a.now() - t.start).Seconds()
		ix := a66CodeIx(a66Code(st.Error))
		t.r.attempt[ix].observer().Observe(d)
		t.r.sent[ix].observer().Observe(float64(t.sent.Load()))
		t.r.rcvd[ix].observer().Observe(float64(t.rcvd.Load()))
	}
}
