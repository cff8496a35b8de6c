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
	a      *A66
	clock  clock // the install's
	report *incomplete
	conn   atomic.Pointer[a66Conn]
}

// a66Conn is a connection's target and its routes.
type a66Conn struct {
	cc     *grpc.ClientConn
	target string
	other  *a66ClientRoute
	mu     sync.Mutex                                 // serialises additions to routes
	routes atomic.Pointer[map[string]*a66ClientRoute] // by full method; replaced, never written
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

// a66ClientKey is the context key of a client call's state: of one A66,
// whose client side belongs to one install, so that two A66 on one
// connection each find their own, and an install's interceptor and its
// stats handler, taken one by one, find each other.
type a66ClientKey struct{ a *A66 }

// a66ClientCall is A66's state of one client call, the context node that
// the install's interceptor gives the invoker, where the stats handler
// finds it: a unary call's one allocation.
type a66ClientCall struct {
	context.Context
	x *a66Client // whose state it is
	r *a66ClientRoute
	// attempted: the stats handler saw an attempt of the call.
	attempted atomic.Bool
}

// Value returns the call itself for its key, and asks the parent for any
// other.
func (c *a66ClientCall) Value(key any) any {
	if k, ok := key.(a66ClientKey); ok && k.a == c.x.a {
		return c
	}
	return c.Context.Value(key)
}

// routeFor returns the route of a call of method on cc with opts and the
// call's context labels.
func (x *a66Client) routeFor(ctx context.Context, cc *grpc.ClientConn, method string, opts []grpc.CallOption) *a66ClientRoute {
	return x.a.clientRouteFor(ctx, x.route(cc, method, opts))
}

// begin returns the state of a unary call that begins, counted in flight.
func (x *a66Client) begin(ctx context.Context, cc *grpc.ClientConn, method string, opts []grpc.CallOption) *a66ClientCall {
	c := &a66ClientCall{Context: ctx, x: x, r: x.routeFor(ctx, cc, method, opts)}
	c.began()
	return c
}

// began counts the call in flight.
func (c *a66ClientCall) began() {
	if c.r.inFlight.vec != nil {
		c.r.inFlight.gauge().Inc()
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
type a66AttemptKey struct{ a *A66 }

// Value returns the attempt itself for its key, and asks the parent for
// any other.
func (t *a66Attempt) Value(key any) any {
	if k, ok := key.(a66AttemptKey); ok && k.a == t.x.a {
		return t
	}
	return t.Context.Value(key)
}

func (x *a66Client) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (x *a66Client) HandleConn(context.Context, stats.ConnStats) {}

// TagRPC starts an attempt of the call the interceptor began; an attempt
// of a call it did not see is not counted, and reported: the install's
// interceptors are missing.
func (x *a66Client) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	call, ok := ctx.Value(a66ClientKey{x.a}).(*a66ClientCall)
	if !ok {
		x.report.missing(partInterceptors, info.FullMethodName)
		return ctx
	}
	if !call.attempted.Load() {
		call.attempted.Store(true)
	}
	return &a66Attempt{Context: ctx, x: x, r: call.r, start: x.clock.now()}
}

// HandleRPC counts the attempt as started at its Begin, adds up its
// messages' compressed lengths, and records its duration and sizes at its
// end, with its status.
func (x *a66Client) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	t, ok := ctx.(*a66Attempt)
	if !ok || t.x.a != x.a {
		if t, ok = ctx.Value(a66AttemptKey{x.a}).(*a66Attempt); !ok {
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
		d := (x.clock.now() - t.start).Seconds()
		ix := a66CodeIx(a66Code(st.Error))
		r := t.r
		if to := r.moved.Load(); to != nil {
			// The call's tuple was removed while the attempt ran: it ends
			// under the overflow tuple, started there too (the call
			// counts in the overflow counter as it ends).
			to.started.counter().Inc()
			r = to
		}
		r.attempt[ix].observer().Observe(d)
		r.sent[ix].observer().Observe(float64(t.sent.Load()))
		r.rcvd[ix].observer().Observe(float64(t.rcvd.Load()))
	}
}
