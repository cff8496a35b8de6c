package interceptor

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/interceptor/internal/msgshape"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
)

// Option configures an install: every constructor takes it ([New],
// [NewServerMetrics], [NewClientMetrics], [NewMilvus26] and [NewServerInstall]).
// The options of one metric set have types of their own, so that giving
// one to another constructor is a compile-time error: [MilvusOption] for
// [New], [ServerMetricsOption] for [NewServerMetrics],
// [ClientMetricsOption] for [NewClientMetrics], [ProviderOption] for
// both of the provider's, [Milvus26Option] for [NewMilvus26].
//
// Options are applied once, in order, by the constructor; when two options
// set the same thing, the last one wins. None of them is consulted again per
// call. Invalid values make the constructor return an error that names
// them. Which constructor takes which:
//
//	option               New   NewServerMetrics   NewClientMetrics   NewMilvus26   NewServer
//	WithStatus           yes   yes                yes                yes           yes
//	WithLogger           yes   yes                yes                yes           yes
//	WithHistogram        yes   yes                yes                yes           yes
//	WithCodeOnHistogram  yes   yes                yes                yes           yes
//	WithClientID         yes   -                  -                  -             -
//	WithClientLimit      yes   -                  -                  -             -
//	WithOutcome          yes   -                  -                  -             -
//	WithInitialSeries    -     yes                -                  -             -
//	WithNodeID           -     -                  -                  yes           -
//	WithCollectionLimit  -     -                  -                  yes           -
//	WithInFlight         -     yes                yes                -             -
//	WithContextLabels    -     yes                yes                -             -
//
// WithStatus, WithLogger, WithHistogram and WithCodeOnHistogram configure an install: the
// set's own, when it is installed alone through its interceptor methods,
// or a [ServerInstall] of several sets, which reads the status once and the clock
// once for all of them.
//
// An Option is an [A66Option] too, but of them [NewA66] takes WithLogger
// only: it refuses WithStatus, WithHistogram and WithCodeOnHistogram, which have no meaning for
// gRPC's own metrics. [WithClientServices] is its own option.
type Option interface {
	MilvusOption
	ServerMetricsOption
	ClientMetricsOption
	Milvus26Option
	A66Option
}

// MilvusOption configures the Milvus counters, [New]: an [Option], or
// [WithClientID], [WithClientLimit] or [WithOutcome].
type MilvusOption interface {
	apply(*config)
	milvusOption()
}

// ServerMetricsOption configures [NewServerMetrics]: an [Option], or
// [WithInitialSeries].
type ServerMetricsOption interface {
	apply(*config)
	serverMetricsOption()
}

// ClientMetricsOption configures [NewClientMetrics]: an [Option], or a
// [ProviderOption].
type ClientMetricsOption interface {
	apply(*config)
	clientMetricsOption()
}

// ProviderOption configures the provider's families on either side:
// [NewServerMetrics] and [NewClientMetrics] take it, and no other
// constructor. [WithInFlight] and [WithContextLabels] are such options,
// and [SharedOption]s, which [NewA66] takes too.
type ProviderOption interface {
	ServerMetricsOption
	ClientMetricsOption
}

// optionFunc is an [Option]; milvusOptionFunc and serverMetricsOptionFunc
// are options of one set (sharedOptionFunc, of the sets a [SharedOption]
// configures).
type (
	optionFunc              func(*config)
	milvusOptionFunc        func(*config)
	serverMetricsOptionFunc func(*config)
)

func (f optionFunc) apply(c *config)    { f(c) }
func (optionFunc) milvusOption()        {}
func (optionFunc) serverMetricsOption() {}
func (optionFunc) milvus26Option()      {}
func (optionFunc) a66Option()           {}
func (optionFunc) clientMetricsOption() {}

func (f milvusOptionFunc) apply(c *config) { f(c) }
func (milvusOptionFunc) milvusOption()     {}

func (f serverMetricsOptionFunc) apply(c *config)    { f(c) }
func (serverMetricsOptionFunc) serverMetricsOption() {}

// DefaultClientLimit is the number of distinct client_id values an
// [MilvusCounters] tracks unless [WithClientLimit] says otherwise. Milvus
// clusters run tens of proxies and coordinators; 1024 leaves room for churn
// while bounding the series a hostile SourceID flood can create to 1024 per
// client-labelled method and call label value.
const DefaultClientLimit = 1024

// MaxClientLimit is the largest limit [WithClientLimit] accepts.
const MaxClientLimit = 1 << 20

type config struct {
	logger      *zap.Logger
	outcomes    map[string]Classifier
	clientID    ClientIDFunc // nil: the default rule
	clientIDSet bool
	clientLimit int
	status      StatusFunc // nil: the default rule
	statusSet   bool
	histogram   *Histogram // nil: no histogram
	codeOnHist  bool       // WithCodeOnHistogram

	inFlight         bool              // WithInFlight
	contextLabels    *ContextLabels    // WithContextLabels; nil: none
	a66ContextLabels *A66ContextLabels // WithA66ContextLabels; nil: none

	initialSeries bool
	limitSet      bool

	nodeID             int64 // WithNodeID
	nodeIDSet          bool
	collectionLimit    int // WithCollectionLimit
	collectionLimitSet bool
	reqLatency         bool // WithReqLatency
	rootCoord          bool // WithRootCoordDDL

	a66Services []*grpc.ServiceDesc // WithClientServices
}

// WithLogger sets the logger for the interceptor's rare events: a panic in
// a [Classifier], a [StatusFunc], a [ClientIDFunc] or the default rules,
// each logged at error level with the method and the panic value; a panic
// in an [Exemplar]'s Value or a [ContextLabels]' Values, at error level
// with the panic value; and, for [ServerMetrics] and [A66], the first call
// before Init, at warn level. Nothing is logged per ordinary call. The default is
// [zap.NewNop], which logs nothing; a nil logger is an error.
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithOutcome overrides the outcome rule for one full method name, which must
// be in the method map. Milvus, for example, counted DescribeIndex's "index
// does not exist" as a success:
//
//	interceptor.WithOutcome("/milvus.proto.milvus.MilvusService/DescribeIndex",
//		func(resp any, err error) interceptor.Outcome {
//			r, ok := resp.(*milvuspb.DescribeIndexResponse)
//			if ok && r.GetStatus().GetErrorCode() == commonpb.ErrorCode_IndexNotExist {
//				return interceptor.Success
//			}
//			return interceptor.Default
//		})
//
// A panic in the classifier is recovered, logged and counted as fail; the
// handler's response and error still reach the caller unchanged. Given
// twice for one method, the last one wins; a nil classifier is an error.
func WithOutcome(fullMethod string, classify Classifier) MilvusOption {
	return milvusOptionFunc(func(c *config) {
		if c.outcomes == nil {
			c.outcomes = make(map[string]Classifier)
		}
		c.outcomes[fullMethod] = classify
	})
}

// WithStatus sets the rule that finds a failing status in a response,
// replacing the default rule (see [New]). [MilvusStatus] builds one for
// Milvus-style status types; any function will do. A nil fn is an error.
//
// The rule sees the response of every unary call that returned no error
// (see [StatusFunc]); stream calls are judged by their error alone. In
// [New]'s counters a failing status counts the call as fail; in
// [ServerMetrics] and [ClientMetrics] the call keeps its gRPC code (OK) in
// the provider's families and also counts in
// grpcmetrics_server_response_failed_total (grpcmetrics_client_… for
// clients).
func WithStatus(fn StatusFunc) Option {
	return optionFunc(func(c *config) { c.status, c.statusSet = fn, true })
}

// WithClientID sets the rule that names a call's client on client-labelled
// routes ([methodmap.ClientTypeScheme], the RootCoord counters), replacing
// the default rule (see [New]). [MilvusSourceID] builds one for Milvus-style
// requests; any function will do. It is called once per call of such a
// route, before the handler, with the call's context and request (see
// [ClientIDFunc]); other routes never call it. The client limit applies to
// its values too. A nil fn is an error; only [New] takes it.
func WithClientID(fn ClientIDFunc) MilvusOption {
	return milvusOptionFunc(func(c *config) { c.clientID, c.clientIDSet = fn, true })
}

// WithClientLimit sets how many distinct client_id values are tracked, from 1
// to [MaxClientLimit]; the default is [DefaultClientLimit]. Calls from further
// clients are counted under [registry.OverflowClientLabel], and each such call
// increments grpcmetrics_client_id_overflow_total (a call whose own client
// is [Label](registry.OverflowClientLabel) does not). The fixed values do not
// count towards the limit, and [MilvusCounters.RemoveClient] frees a slot.
// Only [New] takes it.
func WithClientLimit(n int) MilvusOption {
	return milvusOptionFunc(func(c *config) { c.clientLimit, c.limitSet = n, true })
}

// WithHistogram turns on the handling-time histogram,
// grpc_server_handling_seconds (grpc_client_handling_seconds for
// [ClientMetrics]) with labels grpc_type, grpc_service and grpc_method. The
// clock is read only when it is on. Invalid buckets, native settings or
// exemplar labels are an error from the constructor.
func WithHistogram(h Histogram) Option {
	return optionFunc(func(c *config) { hh := h; c.histogram = &hh })
}

// WithCodeOnHistogram adds the grpc_code label to the handling-time
// histogram that [WithHistogram] turns on: grpc_server_handling_seconds
// (grpc_client_handling_seconds) gets the labels grpc_type, grpc_service,
// grpc_method and grpc_code, the code counted as in
// grpc_server_handled_total (see [ServerMetrics]), so that the latency of
// the successful calls is one query:
//
//	histogram_quantile(0.99, sum by (le) (rate(grpc_server_handling_seconds_bucket{grpc_code="OK"}[5m])))
//
// It is off by default, as in go-grpc-middleware's provider, whose
// dashboards and rules read the histogram without it. A histogram child
// per method and code observed costs more series: up to 17 per method
// instead of one. It needs [WithHistogram], or the constructor returns an
// error; like WithHistogram it configures an install, so a set given to
// [NewServerInstall] must not have it (give it to NewServer), and [NewA66],
// whose duration histograms have grpc_status already, refuses it.
func WithCodeOnHistogram() Option {
	return optionFunc(func(c *config) { c.codeOnHist = true })
}

// WithInitialSeries makes [ServerMetrics.Init] create every registered
// method's series at zero, as Prometheus recommends for series known in
// advance, so that rate() and absent() work from the first scrape. It costs
// 21 series per method, up to 39 with the histogram, [WithCodeOnHistogram]
// and [WithInFlight] (see [MaxInitialSeries], which bounds them). The
// [MilvusCounters]'s Milvus counters always start at zero and do not take it.
func WithInitialSeries() ServerMetricsOption {
	return serverMetricsOptionFunc(func(c *config) { c.initialSeries = true })
}

func newConfig(m *methodmap.Map, opts []MilvusOption) (*config, error) {
	if m == nil {
		return nil, errors.New("interceptor: nil method map")
	}
	c := &config{logger: zap.NewNop(), clientLimit: DefaultClientLimit}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("interceptor: option %d is nil", i)
		}
		o.apply(c)
	}
	var errs []error
	for _, method := range slices.Sorted(maps.Keys(c.outcomes)) {
		if c.outcomes[method] == nil {
			errs = append(errs, fmt.Errorf("WithOutcome: nil classifier for %s", method))
		}
		if _, ok := m.Lookup(method); !ok {
			errs = append(errs, fmt.Errorf("WithOutcome: %s is not in the method map", method))
		}
	}
	if c.clientIDSet && c.clientID == nil {
		errs = append(errs, errors.New("WithClientID: nil function"))
	}
	if c.clientLimit < 1 || c.clientLimit > MaxClientLimit {
		errs = append(errs, fmt.Errorf("WithClientLimit: %d is out of range [1, %d]", c.clientLimit, MaxClientLimit))
	}
	errs = append(errs, c.validateShared()...)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("interceptor: %w", err)
	}
	return c, nil
}

// validateShared checks the options that every constructor takes.
func (c *config) validateShared() []error {
	var errs []error
	if c.logger == nil {
		errs = append(errs, errors.New("WithLogger: nil logger (use zap.NewNop to log nothing)"))
	}
	if c.statusSet && c.status == nil {
		errs = append(errs, errors.New("WithStatus: nil function"))
	}
	if c.histogram != nil {
		if err := c.histogram.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.codeOnHist && c.histogram == nil {
		errs = append(errs, errors.New("WithCodeOnHistogram: no histogram (give WithHistogram too)"))
	}
	if c.contextLabels != nil {
		if err := c.contextLabels.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// newGenericConfig applies and checks the options of NewServerMetrics,
// NewClientMetrics and NewServer, which have no client labels and no
// method map.
func newGenericConfig[O interface{ apply(*config) }](ctor string, opts []O) (*config, error) {
	c := &config{logger: zap.NewNop()}
	for i, o := range opts {
		if any(o) == nil {
			return nil, fmt.Errorf("interceptor: %s: option %d is nil", ctor, i)
		}
		o.apply(c)
	}
	if err := errors.Join(c.validateShared()...); err != nil {
		return nil, fmt.Errorf("interceptor: %s: %w", ctor, err)
	}
	return c, nil
}

// rules returns the status rule and logger of the install cfg configures.
func (c *config) rules() rules {
	return rules{status: c.status, shapes: new(msgshape.Cache), logger: c.logger}
}

// installOptions names the options given that belong to the install
// rather than to a metric set: a set given to [NewServerInstall] must have none.
func (c *config) installOptions() []string {
	var names []string
	if c.statusSet {
		names = append(names, "WithStatus")
	}
	if c.histogram != nil {
		names = append(names, "WithHistogram")
	}
	if c.codeOnHist {
		names = append(names, "WithCodeOnHistogram")
	}
	return names
}
