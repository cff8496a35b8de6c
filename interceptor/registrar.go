package interceptor

import (
	"context"
	"slices"
	"sync"

	"google.golang.org/grpc"
)

// Registrar returns a [grpc.ServiceRegistrar] that registers services on s
// with their mapped unary methods counted by i, without a gRPC interceptor.
// Pass it where a server is expected:
//
//	srv := grpc.NewServer()
//	rootcoordpb.RegisterRootCoordServer(ic.Registrar(srv), impl)
//
// It counts exactly as [Interceptor.UnaryServerInterceptor] does (the same
// routes, outcome rule, client IDs and panic handling), and spares gRPC two
// allocations per call: gRPC's generated code makes them for every call once
// any unary interceptor is installed. Its own work per call is about 12 ns
// more than the interceptor's, for the pooled state through which it sees
// the decoded request (see BENCHMARKS.md). Use one or the other for a
// service, never both, or its calls count twice.
//
// Counting starts once gRPC has decoded the request (a request that does not
// decode reaches no handler and is not counted, as with the interceptor) and
// wraps every interceptor the server has, so a call that one of them rejects
// counts as fail. Unmapped and streaming methods are registered unchanged.
func (i *Interceptor) Registrar(s grpc.ServiceRegistrar) grpc.ServiceRegistrar {
	return &registrar{i: i, s: s}
}

type registrar struct {
	i *Interceptor
	s grpc.ServiceRegistrar
}

// RegisterService registers a copy of desc on the wrapped registrar, in which
// the handlers of mapped methods count their calls. desc itself, usually a
// generated package variable, is not modified.
func (g *registrar) RegisterService(desc *grpc.ServiceDesc, impl any) {
	if desc == nil {
		g.s.RegisterService(desc, impl) // the wrapped registrar reports it
		return
	}
	d := *desc
	d.Methods = slices.Clone(desc.Methods)
	for k := range d.Methods {
		m := &d.Methods[k]
		r, ok := g.i.table.Peek("/" + desc.ServiceName + "/" + m.MethodName)
		if ok && m.Handler != nil {
			m.Handler = g.i.wrap(r, m.Handler)
		}
	}
	g.s.RegisterService(&d, impl)
}

// call is the state of one counted call of a wrapped handler. The generated
// handler decodes the request through call.decode, which is how the request
// (and so the client) becomes known before the handler runs. calls are
// pooled, so a call costs no allocation.
type call struct {
	i      *Interceptor
	r      *route
	ctx    context.Context
	dec    func(any) error
	cs     *counters // set once the request is decoded and total counted
	decode func(any) error
}

// decodeAndCount decodes the request with gRPC's decoder, then counts total.
func (c *call) decodeAndCount(req any) error {
	if err := c.dec(req); err != nil {
		return err
	}
	if c.cs == nil { // generated code decodes once; never count twice
		c.cs = c.r.static
		if c.cs == nil {
			c.cs = c.i.clientCounters(c.ctx, req, c.r)
		}
		c.cs.total.Inc()
	}
	return nil
}

// wrap returns a handler that counts the calls of orig on route r.
func (i *Interceptor) wrap(r *route, orig grpc.MethodHandler) grpc.MethodHandler {
	pool := &sync.Pool{New: func() any {
		c := &call{i: i, r: r}
		c.decode = c.decodeAndCount
		return c
	}}
	return func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		c := pool.Get().(*call)
		c.ctx, c.dec = ctx, dec
		finished := false
		defer func() {
			if !finished && c.cs != nil { // the handler panicked: count it and let the panic go on
				c.cs.fail.Inc()
			}
			c.ctx, c.dec, c.cs = nil, nil, nil
			pool.Put(c)
		}()
		resp, err := orig(srv, ctx, c.decode, ic)
		finished = true
		if cs := c.cs; cs != nil {
			if i.judge(r, resp, err) {
				cs.fail.Inc()
			} else {
				cs.success.Inc()
			}
		}
		return resp, err
	}
}
