package interceptor

import (
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// ServerMetrics counts the calls of any gRPC server under the metric names
// and labels of go-grpc-middleware's prometheus provider:
// grpc_server_started_total, grpc_server_handled_total (with grpc_code),
// grpc_server_msg_received_total, grpc_server_msg_sent_total and, with
// the install's [WithHistogram], grpc_server_handling_seconds. Dashboards
// and alerts built on the provider keep working.
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
// Build it with [NewServerMetrics] and give it to a [ServerInstall]
// ([ServerSets].Provider): only the methods that the server registers,
// which [ServerInstall.Init] finds, get series. Calls that arrive before
// Init are counted under [UnknownMethod] and in
// grpcmetrics_server_calls_before_init_total, which is exposed (at zero)
// from the start, and the first of them is logged at warn level through
// the install's logger ([WithLogger]).
//
// A stream counts as started when it opens and as handled, with its
// code, when the handler returns; each message received or sent without
// error counts. A client that cancels mid-stream usually ends it with
// code Canceled, and an expired deadline with DeadlineExceeded: whatever
// the handler returns. The response-body rule does not apply to streamed
// messages. A handler's panic is counted as handled with code Unknown
// (what a client sees when go-grpc-middleware's recovery, with its
// default handler, turns the panic into an error) and passed on.
//
// [WithInFlight] adds grpc_server_in_flight, the calls whose handler runs;
// [WithContextLabels] adds labels taken from each call's context, bounded
// (see [ContextLabels]). Both are off by default.
//
// Coming from go-grpc-middleware's provider: its InitializeMetrics is
// optional and creates every method's series at zero. Here the install's
// Init is required, since it builds the table that names each call's
// method, and it creates no series unless [WithInitialSeries] is given;
// with it, Init creates every method's series at zero, as
// InitializeMetrics did.
type ServerMetrics struct {
	fam     *families
	initial bool // WithInitialSeries

	methods atomic.Pointer[map[string]*methodSeries] // set once by Init
	unknown [numTypes]*methodSeries                  // by typeIndex

	beforeInit prometheus.Counter // grpcmetrics_server_calls_before_init_total

	metrics *setCollector // the set's own metrics, as one collector
	member  belonging     // the install it belongs to
}

// ServerMetricsOption configures [NewServerMetrics]:
// [WithInitialSeries], or a [ProviderOption] ([WithContextLabels]) or
// [SharedOption] ([WithInFlight]). No other constructor takes it but
// those that [ProviderOption] and [SharedOption] name.
type ServerMetricsOption interface {
	applyServerMetrics(*serverMetricsConfig)
}

// serverMetricsOptionFunc is a [ServerMetricsOption].
type serverMetricsOptionFunc func(*serverMetricsConfig)

func (f serverMetricsOptionFunc) applyServerMetrics(c *serverMetricsConfig) { f(c) }

// serverMetricsConfig is what the options of [NewServerMetrics] set.
type serverMetricsConfig struct {
	inFlight      bool
	contextLabels *ContextLabels // nil: none
	initialSeries bool
}

// WithInitialSeries makes [ServerInstall.Init] create every registered
// method's series at zero, as Prometheus recommends for series known in
// advance, so that rate() and absent() work from the first scrape. It costs
// 21 series per method, up to 39 with the histogram, [Histogram].CodeLabel
// and [WithInFlight] (see [MaxInitialSeries], which bounds them). The
// [MilvusCounters]'s Milvus counters always start at zero and do not take it.
func WithInitialSeries() ServerMetricsOption {
	return serverMetricsOptionFunc(func(c *serverMetricsConfig) { c.initialSeries = true })
}

// MaxInitialSeries bounds [WithInitialSeries]: Init refuses a server whose
// methods would start with more series than this. Each method starts with
// 21 series (started, received, sent, response_failed and 17 handled, one
// per code), one more, the histogram (whose buckets are more series in
// the text exposition), when that is on (17, one per code, with
// [Histogram].CodeLabel), and one more, the in-flight gauge, with
// [WithInFlight].
const MaxInitialSeries = 100_000

// NewServerMetrics builds the server's families of go-grpc-middleware's
// provider (see [ServerMetrics]). It takes [WithInitialSeries],
// [WithInFlight] and [WithContextLabels]; invalid values are an error.
func NewServerMetrics(opts ...ServerMetricsOption) (*ServerMetrics, error) {
	cfg, err := newProviderConfig("NewServerMetrics", opts,
		func(o ServerMetricsOption, c *serverMetricsConfig) { o.applyServerMetrics(c) },
		func(c *serverMetricsConfig) *ContextLabels { return c.contextLabels })
	if err != nil {
		return nil, err
	}
	s := &ServerMetrics{fam: newFamilies("server", cfg.inFlight, cfg.contextLabels), initial: cfg.initialSeries}
	s.beforeInit = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "grpcmetrics_server_calls_before_init_total",
		Help: "Total number of RPCs that reached the server's interceptors before ServerInstall.Init, counted under grpc_service and grpc_method \"unknown\".",
	})
	for ix := range numTypes {
		s.unknown[ix] = newMethodSeries(s.fam, ix, UnknownMethod, UnknownMethod)
	}
	s.metrics = &setCollector{cs: append(s.fam.collectors(), s.beforeInit)}
	return s, nil
}

// methodsOf returns the table of the methods that srvs register, one
// route per method, as [ServerInstall.Init] gives them: the servers are
// checked there. A service or method name that is not valid UTF-8, which
// grpc-go registers and serves like any other, is labelled with each
// invalid byte sequence replaced by U+FFFD (see [strings.ToValidUTF8]);
// names that differ only there share their series.
func (s *ServerMetrics) methodsOf(srvs []ServiceInfoProvider) map[string]*methodSeries {
	table := make(map[string]*methodSeries)
	for _, srv := range srvs {
		for svc, info := range srv.GetServiceInfo() {
			for _, mi := range info.Methods {
				table["/"+svc+"/"+mi.Name] = newMethodSeries(s.fam, typeIndex(mi.IsClientStream, mi.IsServerStream), svc, mi.Name)
			}
		}
	}
	return table
}

// checkInitial checks that the methods of table start with no more than
// [MaxInitialSeries] series, with [WithInitialSeries]; l is the install's
// histogram, nil without one.
func (s *ServerMetrics) checkInitial(table map[string]*methodSeries, l *latency) error {
	if !s.initial {
		return nil
	}
	perMethod := 4 + numCodes // started, received, sent, response_failed, handled by code
	if l != nil {
		perMethod++ // the histogram
		if l.byCode {
			perMethod += numCodes - 1 // one per code
		}
	}
	if s.fam.inFlight != nil {
		perMethod++
	}
	if n := len(table) * perMethod; n > MaxInitialSeries {
		return fmt.Errorf("%d methods would start with %d series, more than MaxInitialSeries (%d)", len(table), n, MaxInitialSeries)
	}
	return nil
}

// init takes table, the server's methods, once: calls before it count
// under [UnknownMethod]; calls of methods not in it count under
// [UnknownMethod]. With [WithInitialSeries], every method's series start
// at zero.
func (s *ServerMetrics) init(table map[string]*methodSeries) {
	s.methods.Store(&table)
	if s.initial {
		for _, m := range table {
			m.initialise()
		}
	}
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

// RemoveContextLabels forgets a tuple of context label values (one value
// per [ContextLabels].Names, in order, as Values gives them or as the
// labels show them) and deletes its series from every family, freeing its
// place under the limit; it reports whether the tuple was kept. The
// overflow tuple is never removed.
//
// A call that starts after it returns counts the tuple anew. A call of
// the tuple still running ends under [ContextLabelOverflow]: it is counted
// there as started (its start was deleted with the tuple), with the
// messages it sends and receives from then on, as handled, and in the
// overflow counter, but not in the in-flight gauge. So a removal never
// makes the tuple's series again, the bound holds, and no call's end is
// lost.
func (s *ServerMetrics) RemoveContextLabels(values ...string) bool {
	return s.fam.removeContextLabels(values)
}
