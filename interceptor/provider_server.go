package interceptor

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
)

// ServerMetrics counts the calls of any gRPC server under the metric names
// and labels of go-grpc-middleware's prometheus provider:
// grpc_server_started_total, grpc_server_handled_total (with grpc_code),
// grpc_server_msg_received_total, grpc_server_msg_sent_total and, with
// [WithHistogram], grpc_server_handling_seconds. Dashboards and alerts
// built on the provider keep working.
//
// It adds grpcmetrics_server_response_failed_total: calls that ended with
// code OK but whose response carried a failing status, by the same rule as
// [MilvusCounters] ([WithStatus], or the default rule). The provider's
// families are left as the provider fills them, so an error ratio that
// counts body failures too is
// (handled{grpc_code!="OK"} + response_failed) / handled.
//
// The grpc_code of a call is the code grpc-go sends for the handler's
// error, the one the client receives: that of the status the error
// carries, by status.FromError's rules (the first error in its tree with
// a GRPCStatus method, unless that returns nil), else DeadlineExceeded or
// Canceled when the error is that context error, else Unknown. A panic is
// Unknown. Two kinds of error count otherwise than a client sees them, by
// design: one that carries a status of code OK counts as OK, which grpc-go
// sends (a unary client, left without a reply, sees Internal; a stream's
// client sees OK); and codes above Unauthenticated, which grpc-go sends as
// they are, count as Unknown, so that the series stay bounded.
//
// Build it with [NewServerMetrics], install its interceptors, register the
// services, then call [ServerMetrics.Init] before serving: only the methods
// the server registers get series. Init is required. Calls that arrive
// before it are counted under [UnknownMethod] and in
// grpcmetrics_server_calls_before_init_total, which is exposed (at zero)
// from the start, and the first of them is logged at warn level through
// [WithLogger]'s logger.
//
// [WithInFlight] adds grpc_server_in_flight, the calls whose handler runs;
// [WithContextLabels] adds labels taken from each call's context, bounded
// (see [ContextLabels]); [WithCodeOnHistogram] adds grpc_code to the
// histogram. All three are off by default.
//
// Coming from go-grpc-middleware's provider: its InitializeMetrics is
// optional and creates every method's series at zero. Here Init is
// required, since it builds the table that names each call's method, and
// it creates no series unless [WithInitialSeries] is given; with it, Init
// creates every method's series at zero, as InitializeMetrics did.
type ServerMetrics struct {
	fam     *families
	initial bool // WithInitialSeries
	logger  *zap.Logger
	solo    *serverEngine // the install of this set alone
	// latency is the histogram of the set's own install, nil without
	// WithHistogram.
	latency *latency

	methods atomic.Pointer[map[string]*methodSeries] // set once by Init
	unknown [numTypes]*methodSeries                  // by typeIndex

	beforeInit prometheus.Counter // grpcmetrics_server_calls_before_init_total
	warned     atomic.Bool        // the first call before Init was logged

	mu       sync.Mutex      // guards installs, and orders Init with new installs
	installs []*serverEngine // the installs that count into this set

	installOptions []string // the options of its own install it was given, for NewServer
	member         belonging
}

// MaxInitialSeries bounds [WithInitialSeries]: Init refuses a server whose
// methods would start with more series than this. Each method starts with
// 21 series (started, received, sent, response_failed and 17 handled, one
// per code), one more, the histogram (whose buckets are more series in
// the text exposition), when that is on (17, one per code, with
// [WithCodeOnHistogram]), and one more, the in-flight gauge, with
// [WithInFlight].
const MaxInitialSeries = 100_000

// NewServerMetrics builds the server metrics. It takes every [Option]
// ([WithStatus], [WithHistogram], [WithCodeOnHistogram], [WithLogger]),
// [WithInitialSeries], and the provider's options, [WithInFlight] and
// [WithContextLabels]; invalid values are an error.
func NewServerMetrics(opts ...ServerMetricsOption) (*ServerMetrics, error) {
	cfg, err := newGenericConfig("NewServerMetrics", opts)
	if err != nil {
		return nil, err
	}
	s := &ServerMetrics{fam: newFamilies("server", cfg.inFlight, cfg.contextLabels, cfg.logger), initial: cfg.initialSeries, logger: cfg.logger, installOptions: cfg.installOptions()}
	s.beforeInit = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "grpcmetrics_server_calls_before_init_total",
		Help: "Total number of RPCs that reached the server's interceptors before ServerMetrics.Init, counted under grpc_service and grpc_method \"unknown\".",
	})
	for ix := range numTypes {
		s.unknown[ix] = newMethodSeries(s.fam, ix, UnknownMethod, UnknownMethod)
	}
	if cfg.histogram != nil {
		s.latency = newLatency(cfg.histogram, "server", cfg.logger, cfg.codeOnHist)
	}
	s.solo = newServerEngine(nil, s, nil, nil, cfg.rules(), s.latency)
	return s, nil
}

// Init builds the method table from the services registered on srvs
// (usually the [*grpc.Server] the interceptors are installed on, or every
// server that shares them): one route per registered method. Init is
// required: call it once, after registering the services and before
// serving. Calls before it count under [UnknownMethod] and in
// grpcmetrics_server_calls_before_init_total (see [ServerMetrics]); calls
// of methods no server registers count under [UnknownMethod].
//
// Init creates no series unless [WithInitialSeries] is given; with it,
// Init creates every method's series at zero. (go-grpc-middleware's
// InitializeMetrics, by contrast, is optional and always creates them.)
//
// A service or method name that is not valid UTF-8, which grpc-go
// registers and serves like any other, is labelled with each invalid byte
// sequence replaced by U+FFFD (see [strings.ToValidUTF8]); names that
// differ only there share their series.
//
// A second call, no server, or a nil server (an interface holding a nil
// *grpc.Server too) is an error.
func (s *ServerMetrics) Init(srvs ...ServiceInfoProvider) error {
	if len(srvs) == 0 {
		return errors.New("interceptor: ServerMetrics.Init: no server")
	}
	table := make(map[string]*methodSeries)
	for i, srv := range srvs {
		if isNilProvider(srv) {
			return fmt.Errorf("interceptor: ServerMetrics.Init: server %d is nil (%T)", i, srv)
		}
		for svc, info := range srv.GetServiceInfo() {
			for _, mi := range info.Methods {
				table["/"+svc+"/"+mi.Name] = newMethodSeries(s.fam, typeIndex(mi.IsClientStream, mi.IsServerStream), svc, mi.Name)
			}
		}
	}
	if s.initial {
		perMethod := 4 + numCodes // started, received, sent, response_failed, handled by code
		if s.latency != nil {
			perMethod++ // the histogram
			if s.latency.byCode {
				perMethod += numCodes - 1 // one per code
			}
		}
		if s.fam.inFlight != nil {
			perMethod++
		}
		if n := len(table) * perMethod; n > MaxInitialSeries {
			return fmt.Errorf("interceptor: ServerMetrics.Init: %d methods would start with %d series, more than MaxInitialSeries (%d)", len(table), n, MaxInitialSeries)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.methods.CompareAndSwap(nil, &table) {
		return errors.New("interceptor: ServerMetrics.Init called twice")
	}
	if s.initial {
		for _, m := range table {
			m.initialise()
		}
	}
	for _, e := range s.installs {
		e.rebuild() // creates the histogram's series at zero too, with WithInitialSeries
	}
	return nil
}

// addInstall makes e count into s: e's routes are built now, and again
// when Init finds the server's methods.
func (s *ServerMetrics) addInstall(e *serverEngine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installs = append(s.installs, e)
	e.rebuild()
}

// initialSeries reports whether Init creates the series at zero.
func (s *ServerMetrics) initialSeries() bool { return s.initial }

// registered returns the methods Init found, nil before Init.
func (s *ServerMetrics) registered() map[string]*methodSeries {
	if t := s.methods.Load(); t != nil {
		return *t
	}
	return nil
}

// began counts a call of the method ms as started (and a unary call's
// request), and, before Init, in grpcmetrics_server_calls_before_init_total,
// logging the first such call.
func (s *ServerMetrics) began(ms *methodSeries, unary bool, fullMethod string) {
	if s.methods.Load() == nil {
		s.beforeInit.Inc()
		if s.warned.CompareAndSwap(false, true) {
			s.logger.Warn("grpcmetrics: a call reached ServerMetrics before Init; calls before Init are counted under grpc_service and grpc_method \"unknown\" (see grpcmetrics_server_calls_before_init_total): call Init after registering the services and before serving",
				zap.String("method", fullMethod))
		}
	}
	ms.began(unary)
}

// UnaryServerInterceptor returns the unary interceptor. Place it inside any
// recovery interceptor: a handler's panic is counted as handled with code
// Unknown (what a client sees when go-grpc-middleware's recovery, with its
// default handler, turns the panic into an error) and passed on.
func (s *ServerMetrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return s.solo.unary
}

// StreamServerInterceptor returns the stream interceptor. A stream counts
// as started when it opens and as handled, with its code, when the handler
// returns; each message received or sent without error counts. A client
// that cancels mid-stream usually ends it with code Canceled, and an
// expired deadline with DeadlineExceeded: whatever the handler returns. The
// response-body rule does not apply to streamed messages.
func (s *ServerMetrics) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return s.solo.stream
}

// Register registers the server metrics on r. Registering them twice on r
// is a no-op; another ServerMetrics (or the provider's) on r is an error
// that says so. ServerMetrics is a [prometheus.Collector], so
// r.Register(s) works too, with client_golang's own errors.
func (s *ServerMetrics) Register(r prometheus.Registerer) error {
	return register(r, "ServerMetrics", s)
}

// collectors returns the set's own metrics, without its install's histogram.
func (s *ServerMetrics) collectors() []prometheus.Collector {
	return append(s.fam.collectors(), s.beforeInit)
}

// Describe implements [prometheus.Collector].
func (s *ServerMetrics) Describe(ch chan<- *prometheus.Desc) {
	describe(ch, s.collectors(), s.latency)
}

// Collect implements [prometheus.Collector].
func (s *ServerMetrics) Collect(ch chan<- prometheus.Metric) {
	collect(ch, s.collectors(), s.latency)
}

// ServiceInfoProvider is what [ServerMetrics.Init] needs of a server;
// [*grpc.Server] has it. It is [methodmap.ServiceInfoProvider].
type ServiceInfoProvider = methodmap.ServiceInfoProvider

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
