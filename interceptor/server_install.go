package interceptor

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	"go.uber.org/zap"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
)

// ServerSets are the metric sets that one [ServerInstall] counts into. A
// nil field is a set left out; at least one must be given. A set belongs
// to one install: giving it to a second one is an error.
type ServerSets struct {
	// Milvus is Milvus v2.0's counters, from [NewMilvusCounters].
	Milvus *MilvusCounters
	// Provider is go-grpc-middleware's provider families, from
	// [NewServerMetrics]. It counts by the methods that
	// [ServerInstall.Init] finds registered.
	Provider *ServerMetrics
	// Milvus26 is Milvus 2.6's request counters, from [NewMilvus26]. It
	// counts every unary method the install sees.
	Milvus26 *Milvus26
	// A66 is gRPC's own metrics, from [NewA66], their server side. It is
	// counted from the install's stats handler, which
	// [ServerInstall.ServerOptions] gives beside the interceptors.
	A66 *A66
}

// ServerInstall counts the calls of a gRPC server into one or several
// metric sets at once: Milvus v2.0's counters, the provider's families,
// Milvus 2.6's request counters and gRPC's own metrics. It is what a
// server installs, whole, with [ServerInstall.ServerOptions]. Each call is
// counted by every set as it would count it in an install of its own,
// with one route lookup, one reading of the response's status, and (with
// [WithHistogram], [WithReqLatency] or [A66]) one reading of the clock at
// each end, whatever the number of sets.
//
// What belongs to the install rather than to a set is given to
// [NewServerInstall]: the status rule ([WithStatus]), the logger
// ([WithLogger]) and the latency histogram ([WithHistogram]). The
// histogram is grpc_server_handling_seconds{grpc_type, grpc_service,
// grpc_method}, one family for all the sets, observed once per call: for
// every method with the provider's families (unregistered methods under
// [UnknownMethod]), for the mapped methods without them, and for every
// unary method with [Milvus26] (which observes its own
// milvus_proxy_req_latency besides).
//
// Use it in four steps: build it, register its metrics
// ([ServerInstall.Register]), give [ServerInstall.ServerOptions] to
// [grpc.NewServer], and, once the services are registered on the server,
// call [ServerInstall.Init] before serving.
type ServerInstall struct {
	sets    ServerSets
	engine  *serverEngine
	latency *latency      // nil unless WithHistogram
	handler stats.Handler // the stats handler, nil without A66
	logger  *zap.Logger

	mu     sync.Mutex // orders Init
	inited bool
}

// NewServerInstall builds one install of the sets. It takes the options
// of an install: [WithStatus], [WithLogger] and [WithHistogram]; the
// options of a set go to the set's own constructor. It is an error to
// give no set, and to give a set that belongs to another install already.
func NewServerInstall(sets ServerSets, opts ...InstallOption) (*ServerInstall, error) {
	cfg, err := newInstallConfig("NewServerInstall", opts)
	if err != nil {
		return nil, err
	}
	var errs []error
	if sets.Milvus == nil && sets.Provider == nil && sets.Milvus26 == nil && sets.A66 == nil {
		errs = append(errs, errors.New("no metric set: give ServerSets.Milvus, ServerSets.Provider, ServerSets.Milvus26, ServerSets.A66, or several"))
	}
	if a := sets.A66; a != nil && a.tuples != nil && a.serverValues == nil {
		errs = append(errs, errors.New("ServerSets.A66 has context labels without a Server function (A66ContextLabels.Server)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("interceptor: NewServerInstall: %w", err)
	}
	var members []member
	if sets.Milvus != nil {
		members = append(members, member{"ServerSets.Milvus", &sets.Milvus.member, nil, nil, nil})
	}
	if sets.Provider != nil {
		members = append(members, member{"ServerSets.Provider", &sets.Provider.member, sets.Provider.fam.tuples, nil, nil})
	}
	if sets.Milvus26 != nil {
		members = append(members, member{"ServerSets.Milvus26", &sets.Milvus26.member, nil, nil, sets.Milvus26})
	}
	if sets.A66 != nil {
		members = append(members, member{"ServerSets.A66", &sets.A66.serverSide, sets.A66.tuples, sets.A66, nil})
	}
	if err := joinAll(members, cfg.logger); err != nil {
		return nil, fmt.Errorf("interceptor: NewServerInstall: %w", err)
	}
	s := &ServerInstall{sets: sets, logger: cfg.logger}
	if cfg.histogram != nil {
		s.latency = newLatency(cfg.histogram, "server", cfg.logger)
	}
	s.engine = newServerEngine(sets.Milvus, sets.Provider, sets.Milvus26, sets.A66, cfg.rules(), s.latency)
	if sets.A66 != nil { // a metrics recorder of grpc-go too, with WithGRPCMetrics
		s.handler = sets.A66.withRecorder(s.engine.a66)
	}
	return s, nil
}

// Init readies the install for the services registered on srvs (usually
// the [*grpc.Server] the install is given to, or every server that shares
// it): the provider's families and gRPC's own metrics take the methods
// registered there. Call it once, after registering the services and
// before serving. It is an error to call it twice, with no server, with a
// nil one, with servers that register no service (Init called before the
// services were registered), or with servers of which no method is one
// that a set of the install counts: none in Milvus v2.0's method map, for
// an install of those counters alone, or no unary method, for one of
// Milvus 2.6's alone.
//
// Calls that arrive before Init are counted as each set documents (the
// provider's under [UnknownMethod] and in
// grpcmetrics_server_calls_before_init_total, gRPC's own under
// [A66Other]), and the first is logged at warn level.
func (s *ServerInstall) Init(srvs ...ServiceInfoProvider) error {
	if len(srvs) == 0 {
		return errors.New("interceptor: ServerInstall.Init: no server")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inited {
		return errors.New("interceptor: ServerInstall.Init called twice")
	}
	var methods, unary int
	mapped := false
	for i, srv := range srvs {
		if isNilProvider(srv) {
			return fmt.Errorf("interceptor: ServerInstall.Init: server %d is nil (%T)", i, srv)
		}
		for svc, info := range srv.GetServiceInfo() {
			for _, mi := range info.Methods {
				methods++
				if !mi.IsClientStream && !mi.IsServerStream {
					unary++
				}
				if s.sets.Milvus != nil && s.sets.Milvus.routes["/"+svc+"/"+mi.Name] != nil {
					mapped = true
				}
			}
		}
	}
	switch {
	case methods == 0:
		return errors.New("interceptor: ServerInstall.Init: the server registers no service: call Init after registering the services, before serving")
	case s.sets.Provider == nil && s.sets.A66 == nil && s.sets.Milvus26 == nil && !mapped:
		return errors.New("interceptor: ServerInstall.Init: none of the server's methods is in Milvus v2.0's method map, so the install would count nothing")
	case s.sets.Provider == nil && s.sets.A66 == nil && s.sets.Milvus == nil && unary == 0:
		return errors.New("interceptor: ServerInstall.Init: the server registers no unary method, so Milvus 2.6's counters would count nothing")
	}
	var table map[string]*methodSeries
	if p := s.sets.Provider; p != nil {
		table = p.methodsOf(srvs)
		if err := p.checkInitial(table, s.latency); err != nil {
			return fmt.Errorf("interceptor: ServerInstall.Init: %w", err)
		}
	}
	s.inited = true
	if p := s.sets.Provider; p != nil {
		p.init(table)
	}
	if a := s.sets.A66; a != nil {
		a.init(srvs)
	}
	s.engine.rebuild() // creates the histogram's series at zero too, with WithInitialSeries
	return nil
}

// UnaryServerInterceptor returns the unary interceptor. Place it inside any
// recovery interceptor, so that it sees (and counts) a handler's panic
// before recovery turns it into an error.
func (s *ServerInstall) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return s.engine.unary
}

// StreamServerInterceptor returns the stream interceptor.
func (s *ServerInstall) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return s.engine.stream
}

// StatsHandler returns the install's stats handler, which counts
// [ServerSets].A66 from grpc-go's events; nil without A66. Install it
// with [grpc.StatsHandler], beside the interceptors, or use
// [ServerInstall.ServerOptions], which gives them all. With A66, a call
// that the interceptors see and the handler does not (or that the handler
// ends without the interceptors having seen it) counts in
// grpcmetrics_server_install_incomplete_total, and the first is logged:
// the install is only partly installed.
func (s *ServerInstall) StatsHandler() stats.Handler {
	return s.handler
}

// ServerOptions returns the whole install, to give to [grpc.NewServer]:
// the unary and the stream interceptor, chained with
// [grpc.ChainUnaryInterceptor] and [grpc.ChainStreamInterceptor] (so they
// run after the interceptors of earlier options, inside them, and before
// those of later ones), when a set counts from them; and the stats
// handler, when a set needs one ([ServerInstall.StatsHandler]).
func (s *ServerInstall) ServerOptions() []grpc.ServerOption {
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

// Register registers the metrics of every set and of the install (its
// histogram, and grpcmetrics_server_install_incomplete_total) on r.
// Registering them twice on r is a no-op; another collector of the same
// metrics is an error that says so, and so is a nil r. An [A66] in a
// server install and a client install may be registered by both on one
// registry.
func (s *ServerInstall) Register(r prometheus.Registerer) error {
	if isNilRegisterer(r) {
		return errors.New("interceptor: ServerInstall.Register: nil prometheus.Registerer")
	}
	for _, set := range []struct {
		name    string
		present bool
		metrics func() *setCollector
	}{
		{"ServerSets.Milvus", s.sets.Milvus != nil, func() *setCollector { return s.sets.Milvus.metrics }},
		{"ServerSets.Provider", s.sets.Provider != nil, func() *setCollector { return s.sets.Provider.metrics }},
		{"ServerSets.Milvus26", s.sets.Milvus26 != nil, func() *setCollector { return s.sets.Milvus26.metrics }},
		{"ServerSets.A66", s.sets.A66 != nil, func() *setCollector { return s.sets.A66.metrics }},
	} {
		if set.present {
			if err := register(r, "ServerInstall ("+set.name+")", set.metrics()); err != nil {
				return err
			}
		}
	}
	if s.sets.A66 != nil {
		if err := register(r, "ServerInstall", s.engine.report.vec); err != nil {
			return err
		}
	}
	if s.latency != nil {
		return register(r, "ServerInstall", s.latency.vec)
	}
	return nil
}

// isNilProvider reports whether srv is nil or holds a nil pointer or func,
// whose GetServiceInfo would panic.
func isNilProvider(srv ServiceInfoProvider) bool {
	if srv == nil {
		return true
	}
	switch rv := reflect.ValueOf(srv); rv.Kind() {
	case reflect.Pointer, reflect.Func:
		return rv.IsNil()
	}
	return false
}
