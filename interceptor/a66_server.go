package interceptor

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/stats"
)

// a66ServerHandler is the server side's stats handler, the install's
// front for grpc-go's events.
type a66ServerHandler struct {
	a      *A66
	clock  clock // the install's
	report *incomplete
	// intercepts: the install has interceptors, which see every call of
	// a registered method that its handler returns from.
	intercepts bool
}

// a66ServerKey is the context key of a server call's state: of one
// handler's, so that two A66 on one server each find their own.
type a66ServerKey struct{ h *a66ServerHandler }

// a66ServerCall is the state of one server call, inline in the one
// context node that TagRPC adds: the call's only allocation.
type a66ServerCall struct {
	context.Context
	h          *a66ServerHandler // whose state it is
	r          *a66ServerRoute
	start      time.Duration
	sent, rcvd atomic.Int64
	inFlight   atomic.Bool // counted in the in-flight gauge, at Begin
	// intercepted: the install's interceptors saw the call.
	intercepted atomic.Bool
}

// intercepted marks the call of ctx as seen by the install's interceptors,
// or reports that the stats handler did not tag it: it is not installed.
func (h *a66ServerHandler) intercepted(ctx context.Context, fullMethod string) {
	c, ok := ctx.Value(a66ServerKey{h}).(*a66ServerCall)
	if !ok {
		h.report.missing(partStatsHandler, fullMethod)
		return
	}
	c.intercepted.Store(true)
}

// Value returns the call itself for its key, and asks the parent for any
// other.
func (c *a66ServerCall) Value(key any) any {
	if k, ok := key.(a66ServerKey); ok && k.h == c.h {
		return c
	}
	return c.Context.Value(key)
}

func (h *a66ServerHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (h *a66ServerHandler) HandleConn(context.Context, stats.ConnStats) {}

// TagRPC starts the call's clock and finds its method's series (with the
// context labels, from ctx, which carries the call's incoming metadata).
func (h *a66ServerHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	if h.a.methods.Load() == nil {
		h.report.beforeInit(info.FullMethodName)
	}
	return &a66ServerCall{Context: ctx, h: h, r: h.a.serverRouteFor(ctx, info.FullMethodName), start: h.clock.now()}
}

// HandleRPC counts the call as started at its header, adds up its
// messages' compressed lengths, and records its duration and sizes at its
// end, with its status.
func (h *a66ServerHandler) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	c, ok := ctx.(*a66ServerCall)
	if !ok || c.h != h {
		if c, ok = ctx.Value(a66ServerKey{h}).(*a66ServerCall); !ok {
			return // not tagged by this handler: nothing to count
		}
	}
	switch st := rs.(type) {
	case *stats.InHeader:
		c.r.started.counter().Inc()
	case *stats.Begin:
		if c.r.inFlight.vec != nil && c.inFlight.CompareAndSwap(false, true) {
			c.r.inFlight.gauge().Inc()
		}
	case *stats.InPayload:
		c.rcvd.Add(int64(st.CompressedLength))
	case *stats.OutPayload:
		c.sent.Add(int64(st.CompressedLength))
	case *stats.End:
		d := (h.clock.now() - c.start).Seconds()
		ix := a66CodeIx(a66Code(st.Error))
		r := c.r
		if to := r.moved.Load(); to != nil {
			// The call's tuple was removed while it ran: it ends under
			// the overflow tuple, started there too (its start was
			// deleted with the tuple), and in the overflow counter.
			to.started.counter().Inc()
			h.a.tuples.overflowTotal.Inc()
			r = to
		}
		r.duration[ix].observer().Observe(d)
		r.sent[ix].observer().Observe(float64(c.sent.Load()))
		r.rcvd[ix].observer().Observe(float64(c.rcvd.Load()))
		if c.inFlight.CompareAndSwap(true, false) {
			c.r.inFlight.gauge().Dec() // the gauge the call entered
		}
		if h.intercepts && st.Error == nil && c.r.registered && !c.intercepted.Load() {
			h.report.missing(partInterceptors, c.r.method)
		}
	}
}
