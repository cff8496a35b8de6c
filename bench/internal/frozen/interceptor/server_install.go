package interceptor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
)

// ServerSets are the metric sets that one [Server] counts into. A nil
// field is a set left out; at least one must be given.
type ServerSets struct {
	// Milvus is Milvus v2.0's counters, from [New].
	Milvus *Interceptor
	// Provider is go-grpc-middleware's provider families, from
	// [NewServerMetrics]. Call its Init as usual: the Server counts by
	// the methods Init finds.
	Provider *ServerMetrics
	// Milvus26 is Milvus 2.6's request counters, from [NewMilvus26]. It
	// counts every unary method the Server sees.
	Milvus26 *Milvus26
	// A66 is gRPC's own metrics, from [NewA66]. It is counted from the
	// Server's stats handler ([Server.StatsHandler]), not from its
	// interceptors: install both, or [Server.ServerOptions]. Call its Init
	// as usual.
	A66 *A66
}

// Server counts the calls of a gRPC server into several metric sets at
// once, from one pair of interceptors: Milvus v2.0's counters and the
// provider's families, say. Each call is counted by every set as it would
// count it installed alone, with one route lookup, one reading of the
// response's status, and (with [WithHistogram] or [Milvus26]) one reading
// of the clock at each end, whatever the number of sets.
//
// What belongs to the install rather than to a set is given to
// [NewServer]: the status rule ([WithStatus]), the logger ([WithLogger])
// and the latency histogram ([WithHistogram]). The histogram is
// grpc_server_handling_seconds{grpc_type, grpc_service, grpc_method}, one
// family for all the sets, observed once per call: for every method with
// the provider's families (unregistered methods under [UnknownMethod]),
// for the mapped methods without them, and for every unary method with
// [Milvus26] (which observes its own milvus_proxy_req_latency besides).
//
// [ServerSets].A66, gRPC's own metrics, counts from grpc-go's events
// rather than from the interceptors: the Server gives its stats handler,
// [Server.StatsHandler], and [Server.ServerOptions] gives the whole
// install, interceptors and handler.
//
// Install a set either alone or in one Server, not both: each install
// counts the calls it sees.
type Server struct {
	sets    ServerSets
	engine  *serverEngine
	latency *latency // nil unless WithHistogram
}

// NewServer builds one install of the sets. It takes the options of an
// install, [Option]: [WithStatus], [WithLogger], [WithHistogram] and
// [WithCodeOnHistogram]; the
// options of a set ([MilvusOption], [ServerMetricsOption]) go to the set's
// own constructor. It is an error to give no set, and to give a set built
// with [WithStatus], [WithHistogram] or [WithCodeOnHistogram], whose rule
// or histogram the Server would not use. The provider's own options,
// [WithInFlight] and [WithContextLabels], stay with its set and work in a
// Server as alone.
func NewServer(sets ServerSets, opts ...Option) (*Server, error) {
	cfg, err := newGenericConfig("NewServer", opts)
	if err != nil {
		return nil, err
	}
	var errs []error
	if sets.Milvus == nil && sets.Provider == nil && sets.Milvus26 == nil && sets.A66 == nil {
		errs = append(errs, errors.New("no metric set: give ServerSets.Milvus, ServerSets.Provider, ServerSets.Milvus26, ServerSets.A66, or several"))
	}
	var milvusOptions, providerOptions, milvus26Options []string
	if sets.Milvus != nil {
		milvusOptions = sets.Milvus.installOptions
	}
	if sets.Provider != nil {
		providerOptions = sets.Provider.installOptions
	}
	if sets.Milvus26 != nil {
		milvus26Options = sets.Milvus26.installOptions
	}
	for _, set := range []struct {
		name    string
		options []string
	}{
		{"ServerSets.Milvus", milvusOptions},
		{"ServerSets.Provider", providerOptions},
		{"ServerSets.Milvus26", milvus26Options},
	} {
		if len(set.options) > 0 {
			errs = append(errs, fmt.Errorf("%s was built with %s, which configure an install of the set alone: give them to NewServer instead",
				set.name, strings.Join(set.options, " and ")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("interceptor: NewServer: %w", err)
	}
	s := &Server{sets: sets}
	if cfg.histogram != nil {
		s.latency = newLatency(cfg.histogram, "server", cfg.logger, cfg.codeOnHist)
	}
	s.engine = newServerEngine(sets.Milvus, sets.Provider, sets.Milvus26, cfg.rules(), s.latency)
	return s, nil
}

// UnaryServerInterceptor returns the unary interceptor. Place it inside any
// recovery interceptor, so that it sees (and counts) a handler's panic
// before recovery turns it into an error.
func (s *Server) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return s.engine.unary
}

// StreamServerInterceptor returns the stream interceptor.
func (s *Server) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return s.engine.stream
}

// StatsHandler returns the stats handler of the sets that count from
// grpc-go's events rather than from the interceptors: [ServerSets].A66's
// ([A66.ServerStatsHandler]). It returns nil when no such set is given.
// Install it with [grpc.StatsHandler], beside the interceptors, or use
// [Server.ServerOptions], which gives them all.
func (s *Server) StatsHandler() stats.Handler {
	if s.sets.A66 == nil {
		return nil
	}
	return s.sets.A66.ServerStatsHandler()
}

// ServerOptions returns the whole install, to give to [grpc.NewServer]:
// the unary and the stream interceptor, chained with
// [grpc.ChainUnaryInterceptor] and [grpc.ChainStreamInterceptor] (so they
// run after the interceptors of earlier options, inside them, and before
// those of later ones), when a set counts from them; and the stats
// handler, when a set needs one ([Server.StatsHandler]).
func (s *Server) ServerOptions() []grpc.ServerOption {
	var opts []grpc.ServerOption
	if s.sets.Milvus != nil || s.sets.Provider != nil || s.sets.Milvus26 != nil {
		opts = append(opts,
			grpc.ChainUnaryInterceptor(s.engine.unary),
			grpc.ChainStreamInterceptor(s.engine.stream))
	}
	if h := s.StatsHandler(); h != nil {
		opts = append(opts, grpc.StatsHandler(h))
	}
	return opts
}

// Register registers every set's metrics, as each set's Register does, and
// the install's histogram, on r. Registering them twice on r is a no-op;
// another collector of the same metrics is an error that says so.
func (s *Server) Register(r prometheus.Registerer) error {
	if isNilRegisterer(r) {
		return errors.New("interceptor: Server.Register: nil prometheus.Registerer")
	}
	if s.sets.Milvus != nil {
		if err := s.sets.Milvus.Register(r); err != nil {
			return err
		}
	}
	if s.sets.Provider != nil {
		if err := s.sets.Provider.Register(r); err != nil {
			return err
		}
	}
	if s.sets.Milvus26 != nil {
		if err := s.sets.Milvus26.Register(r); err != nil {
			return err
		}
	}
	if s.sets.A66 != nil {
		if err := s.sets.A66.Register(r); err != nil {
			return err
		}
	}
	if s.latency != nil {
		return register(r, "Server", s.latency.vec)
	}
	return nil
}
