package interceptor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// ClientSets are the metric sets that one [ClientInstall] counts into. A
// nil field is a set left out; at least one must be given. A set belongs
// to one install: giving it to a second one is an error.
type ClientSets struct {
	// Provider is go-grpc-middleware's provider families, from
	// [NewClientMetrics].
	Provider *ClientMetrics
	// A66 is gRPC's own metrics, from [NewA66], their client side: each
	// call from the interceptors, each attempt from the stats handler.
	A66 *A66
}

// ClientInstall counts a gRPC client's calls into one or several metric
// sets at once: the provider's client families and the client side of
// gRPC's own metrics. It is what a client installs, whole, with
// [ClientInstall.DialOptions], once per connection.
//
// What belongs to the install rather than to a set is given to
// [NewClientInstall]: the status rule ([WithStatus]), the logger
// ([WithLogger]) and the latency histogram ([WithHistogram]),
// grpc_client_handling_seconds{grpc_type, grpc_service, grpc_method}.
type ClientInstall struct {
	sets    ClientSets
	engine  *clientEngine // nil without the provider's families
	latency *latency      // nil unless WithHistogram
}

// NewClientInstall builds one install of the sets. It takes the options of
// an install: [WithStatus], [WithLogger] and [WithHistogram]. It is an
// error to give no set, to give a set that belongs to another install
// already, and to give an [A66] whose context labels have no Client
// function (see [A66ContextLabels]).
func NewClientInstall(sets ClientSets, opts ...InstallOption) (*ClientInstall, error) {
	cfg, err := newGenericConfig("NewClientInstall", opts)
	if err != nil {
		return nil, err
	}
	var errs []error
	if sets.Provider == nil && sets.A66 == nil {
		errs = append(errs, errors.New("no metric set: give ClientSets.Provider, ClientSets.A66, or both"))
	}
	if a := sets.A66; a != nil && a.tuples != nil && a.clientValues == nil {
		errs = append(errs, errors.New("ClientSets.A66 has context labels without a Client function (A66ContextLabels.Client): on a client the call's context carries outgoing metadata, not incoming"))
	}
	if sets.Provider != nil && len(sets.Provider.installOptions) > 0 {
		errs = append(errs, fmt.Errorf("ClientSets.Provider was built with %s, which configure an install: give them to NewClientInstall instead", strings.Join(sets.Provider.installOptions, " and ")))
	}
	if cfg.histogram != nil && sets.Provider == nil {
		errs = append(errs, errors.New("WithHistogram: the client histogram is the provider's family: give ClientSets.Provider too (A66 has histograms of its own)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("interceptor: NewClientInstall: %w", err)
	}
	var joined []*belonging
	for _, m := range []struct {
		name string
		b    *belonging
	}{
		{"ClientSets.Provider", sets.Provider.belonging()},
		{"ClientSets.A66", sets.A66.clientBelonging()},
	} {
		if m.b == nil {
			continue
		}
		if err := m.b.join(); err != nil {
			for _, b := range joined {
				b.leave()
			}
			return nil, fmt.Errorf("interceptor: NewClientInstall: %s %w", m.name, err)
		}
		joined = append(joined, m.b)
	}
	c := &ClientInstall{sets: sets}
	if cfg.histogram != nil {
		c.latency = newLatency(cfg.histogram, "client", cfg.logger, cfg.codeOnHist || cfg.histogram.CodeLabel)
	}
	if sets.Provider != nil {
		c.engine = &clientEngine{provider: sets.Provider, rules: cfg.rules(), latency: c.latency}
	}
	return c, nil
}

// DialOptions returns the whole install for one connection, to give to
// [grpc.NewClient]: the unary and the stream interceptor, chained with
// [grpc.WithChainUnaryInterceptor] and [grpc.WithChainStreamInterceptor]
// (so they run inside the interceptors of earlier options), and, with
// [ClientSets].A66, the stats handler that counts each attempt. Call it
// once per connection: A66's side keeps the connection's target, worked
// out on its first call.
func (c *ClientInstall) DialOptions() []grpc.DialOption {
	var unary []grpc.UnaryClientInterceptor
	var stream []grpc.StreamClientInterceptor
	if c.engine != nil {
		unary, stream = append(unary, c.engine.unary), append(stream, c.engine.stream)
	}
	var opts []grpc.DialOption
	if c.sets.A66 != nil {
		x := &a66Client{a: c.sets.A66}
		unary, stream = append(unary, x.unary), append(stream, x.stream)
		opts = append(opts, grpc.WithStatsHandler(x))
	}
	return append([]grpc.DialOption{
		grpc.WithChainUnaryInterceptor(unary...),
		grpc.WithChainStreamInterceptor(stream...),
	}, opts...)
}

// UnaryClientInterceptor returns the install's unary client interceptor,
// for tests and benchmarks that call it directly; a client installs
// [ClientInstall.DialOptions], which with [ClientSets].A66 holds a stats
// handler too.
func (c *ClientInstall) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	if c.sets.A66 == nil {
		return c.engine.unary
	}
	x := &a66Client{a: c.sets.A66}
	if c.engine == nil {
		return x.unary
	}
	outer := c.engine.unary
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return outer(ctx, method, req, reply, cc, func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
			return x.unary(ctx, method, req, reply, cc, invoker, opts...)
		}, opts...)
	}
}

// StreamClientInterceptor returns the install's stream client
// interceptor, as [ClientInstall.UnaryClientInterceptor] does the unary.
func (c *ClientInstall) StreamClientInterceptor() grpc.StreamClientInterceptor {
	if c.sets.A66 == nil {
		return c.engine.stream
	}
	x := &a66Client{a: c.sets.A66}
	if c.engine == nil {
		return x.stream
	}
	outer := c.engine.stream
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return outer(ctx, desc, cc, method, func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return x.stream(ctx, desc, cc, method, streamer, opts...)
		}, opts...)
	}
}

// Register registers every set's metrics and the install's histogram on
// r. Registering them twice on r is a no-op; another collector of the
// same metrics is an error that says so. An [A66] in a server install and
// a client install may be registered by both on one registry.
func (c *ClientInstall) Register(r prometheus.Registerer) error {
	if isNilRegisterer(r) {
		return errors.New("interceptor: ClientInstall.Register: nil prometheus.Registerer")
	}
	if c.sets.Provider != nil {
		if err := c.sets.Provider.Register(r); err != nil {
			return err
		}
	}
	if c.sets.A66 != nil {
		if err := c.sets.A66.Register(r); err != nil {
			return err
		}
	}
	if c.latency != nil {
		return register(r, "ClientInstall", c.latency.vec)
	}
	return nil
}
