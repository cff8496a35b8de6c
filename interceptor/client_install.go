package interceptor

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
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
	engine  *clientEngine
	latency *latency // nil unless WithHistogram
}

// NewClientInstall builds one install of the sets. It takes the options of
// an install: [WithStatus], [WithLogger] and [WithHistogram]. It is an
// error to give no set, to give a set that belongs to another install
// already, and to give an [A66] whose context labels have no Client
// function (see [A66ContextLabels]).
func NewClientInstall(sets ClientSets, opts ...InstallOption) (*ClientInstall, error) {
	cfg, err := newInstallConfig("NewClientInstall", opts)
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
	if cfg.histogram != nil && sets.Provider == nil {
		errs = append(errs, errors.New("WithHistogram: the client histogram is the provider's family: give ClientSets.Provider too (A66 has histograms of its own)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("interceptor: NewClientInstall: %w", err)
	}
	var members []member
	if sets.Provider != nil {
		members = append(members, member{"ClientSets.Provider", &sets.Provider.member, sets.Provider.fam.tuples, nil, nil})
	}
	if sets.A66 != nil {
		members = append(members, member{"ClientSets.A66", &sets.A66.clientSide, sets.A66.tuples, sets.A66, nil})
	}
	if err := joinAll(members, cfg.logger); err != nil {
		return nil, fmt.Errorf("interceptor: NewClientInstall: %w", err)
	}
	c := &ClientInstall{sets: sets}
	if cfg.histogram != nil {
		c.latency = newLatency(cfg.histogram, "client", cfg.logger)
	}
	c.engine = newClientEngine(sets.Provider, sets.A66, cfg.rules(), c.latency)
	return c, nil
}

// DialOptions returns the whole install for one connection, to give to
// [grpc.NewClient]: the unary and the stream interceptor, chained with
// [grpc.WithChainUnaryInterceptor] and [grpc.WithChainStreamInterceptor]
// (so they run inside the interceptors of earlier options), and, with
// [ClientSets].A66, the stats handler that counts each attempt. Call it
// once per connection: A66's side keeps the connection's target, worked
// out on its first call. Options shared by several connections count each
// call correctly, but work the target out again whenever a call comes
// from another connection than the last.
func (c *ClientInstall) DialOptions() []grpc.DialOption {
	f := c.engine.front()
	opts := []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(f.unary),
		grpc.WithChainStreamInterceptor(f.stream),
	}
	if f.x != nil {
		opts = append(opts, grpc.WithStatsHandler(c.sets.A66.withRecorder(f.x)))
	}
	return opts
}

// UnaryClientInterceptor returns the unary client interceptor of a new
// connection's install, for a chain that must place it itself; with
// [ClientSets].A66, install [ClientInstall.StatsHandler] of the same
// connection too, or use [ClientInstall.DialOptions], which gives them
// all. A call that one part sees and another does not is counted in
// grpcmetrics_client_install_incomplete_total, and the first is logged.
func (c *ClientInstall) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return c.engine.front().unary
}

// StatsHandler returns the stats handler that counts the attempts of
// [ClientSets].A66, as [ClientInstall.UnaryClientInterceptor] does the
// unary interceptor; nil without A66.
func (c *ClientInstall) StatsHandler() stats.Handler {
	if f := c.engine.front(); f.x != nil {
		return c.sets.A66.withRecorder(f.x)
	}
	return nil
}

// StreamClientInterceptor returns the stream client interceptor, as
// [ClientInstall.UnaryClientInterceptor] does the unary one.
func (c *ClientInstall) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return c.engine.front().stream
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
		if err := register(r, "ClientInstall (ClientSets.Provider)", c.sets.Provider.metrics); err != nil {
			return err
		}
	}
	if c.sets.A66 != nil {
		if err := register(r, "ClientInstall (ClientSets.A66)", c.sets.A66.metrics); err != nil {
			return err
		}
	}
	if c.sets.A66 != nil {
		if err := register(r, "ClientInstall", c.engine.report.vec); err != nil {
			return err
		}
	}
	if c.latency != nil {
		return register(r, "ClientInstall", c.latency.vec)
	}
	return nil
}
