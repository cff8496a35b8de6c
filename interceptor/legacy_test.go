package interceptor

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
)

// The API before installs, for the tests written against it: a set's own
// interceptor methods, Init and Register build (once, on first use) an
// install of that set alone, with the install's options the test gave the
// set's constructor. Only tests see it.

// Option is an install's option, or [LegacyCodeOnHistogram].
type Option = any

// Interceptor is [MilvusCounters].
type Interceptor = MilvusCounters

// Server is [ServerInstall].
type Server = ServerInstall

// legacyCodeOnHistogram is [LegacyCodeOnHistogram].
type legacyCodeOnHistogram struct{}

// LegacyCodeOnHistogram is the former WithCodeOnHistogram: Histogram's
// CodeLabel, for the tests' constructors.
func LegacyCodeOnHistogram() Option { return legacyCodeOnHistogram{} }

// legacy is a set installed alone.
type legacy struct {
	mu         sync.Mutex
	opts       []InstallOption
	server     *ServerInstall
	client     *ClientInstall
	initCalled bool
	metrics    *setCollector // the set's and its install's histogram
}

// legacies holds the sets built by the tests' constructors, by set.
var legacies sync.Map

// legacySplit splits opts into the set's options S and an install's.
func legacySplit[S any](opts []Option) (set []S, install []InstallOption) {
	codeLabel := false
	for _, o := range opts {
		switch v := o.(type) {
		case legacyCodeOnHistogram:
			codeLabel = true
		case S:
			set = append(set, v)
		case InstallOption:
			install = append(install, v)
		default:
			set = append(set, *new(S)) // a nil option, refused by the constructor
		}
	}
	if codeLabel {
		install = append(install, installOptionFunc(func(c *installConfig) {
			if c.histogram != nil {
				c.histogram.CodeLabel = true
			}
		}))
	}
	return set, install
}

func legacyOf(set any) *legacy {
	v, _ := legacies.LoadOrStore(set, &legacy{})
	return v.(*legacy)
}

// New builds Milvus v2.0's counters with the options of the set and of
// their install alone.
func New(m *methodmap.Map, opts ...Option) (*MilvusCounters, error) {
	set, install := legacySplit[MilvusOption](opts)
	if _, err := newInstallConfig("New", install); err != nil {
		return nil, err
	}
	i, err := NewMilvusCounters(m, set...)
	if err == nil {
		legacyOf(i).opts = install
	}
	return i, err
}

// LegacyServerMetrics is NewServerMetrics with the options of its install alone.
func LegacyServerMetrics(opts ...Option) (*ServerMetrics, error) {
	set, install := legacySplit[ServerMetricsOption](opts)
	if _, err := newInstallConfig("NewServerMetrics", install); err != nil {
		return nil, err
	}
	s, err := NewServerMetrics(set...)
	if err == nil {
		legacyOf(s).opts = install
	}
	return s, err
}

// LegacyClientMetrics is NewClientMetrics with the options of its install alone.
func LegacyClientMetrics(opts ...Option) (*ClientMetrics, error) {
	set, install := legacySplit[ClientMetricsOption](opts)
	if _, err := newInstallConfig("NewClientMetrics", install); err != nil {
		return nil, err
	}
	c, err := NewClientMetrics(set...)
	if err == nil {
		legacyOf(c).opts = install
	}
	return c, err
}

// LegacyMilvus26 is NewMilvus26 with the options of its install alone.
func LegacyMilvus26(opts ...Option) (*Milvus26, error) {
	set, install := legacySplit[Milvus26Option](opts)
	if _, err := newInstallConfig("NewMilvus26", install); err != nil {
		return nil, err
	}
	m, err := NewMilvus26(set...)
	if err == nil {
		legacyOf(m).opts = install
	}
	return m, err
}

// LegacyA66 is NewA66 with the options of its installs alone.
func LegacyA66(opts ...Option) (*A66, error) {
	for i, o := range opts {
		if cl, ok := o.(contextLabelsOption); ok { // one function for both sides
			opts[i] = WithA66ContextLabels(A66ContextLabels{Names: cl.cl.Names, Server: cl.cl.Values, Client: cl.cl.Values, Limit: cl.cl.Limit})
		}
	}
	set, install := legacySplit[A66Option](opts)
	if _, err := newInstallConfig("NewA66", install); err != nil {
		return nil, err
	}
	a, err := NewA66(set...)
	if err == nil {
		legacyOf(a).opts = install
	}
	return a, err
}

// NewServer is NewServerInstall with options of any kind.
// The sets' Init and interceptor methods are then the install's.
func NewServer(sets ServerSets, opts ...Option) (*ServerInstall, error) {
	set, install := legacySplit[InstallOption](opts)
	s, err := NewServerInstall(sets, append(set, install...)...)
	if err != nil {
		return nil, err
	}
	for _, set := range []any{sets.Milvus, sets.Provider, sets.Milvus26, sets.A66} {
		switch v := set.(type) {
		case *MilvusCounters:
			if v == nil {
				continue
			}
		case *ServerMetrics:
			if v == nil {
				continue
			}
		case *Milvus26:
			if v == nil {
				continue
			}
		case *A66:
			if v == nil {
				continue
			}
		}
		legacyOf(set).server = s
	}
	return s, nil
}

// legacyInit is Init of s for the set of l, where a first call of each
// set of s after another's is no error.
func legacyInit(l *legacy, s *ServerInstall, srvs []ServiceInfoProvider) error {
	l.mu.Lock()
	again := l.initCalled
	l.initCalled = true
	l.mu.Unlock()
	s.mu.Lock()
	inited := s.inited
	s.mu.Unlock()
	if inited && !again {
		return nil
	}
	return s.Init(srvs...)
}

func (l *legacy) serverOf(sets ServerSets) *ServerInstall {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.server == nil {
		s, err := NewServerInstall(sets, l.opts...)
		if err != nil {
			panic(err)
		}
		l.server = s
	}
	return l.server
}

func (l *legacy) clientOf(sets ClientSets) *ClientInstall {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client == nil {
		c, err := NewClientInstall(sets, l.opts...)
		if err != nil {
			panic(err)
		}
		l.client = c
	}
	return l.client
}

// legacyRegister registers a set's metrics and its install's histogram,
// as one collector.
func legacyRegister(r prometheus.Registerer, owner string, set any, m *setCollector, l *latency) error {
	lg := legacyOf(set)
	lg.mu.Lock()
	if lg.metrics == nil {
		lg.metrics = &setCollector{cs: m.cs}
		if l != nil {
			lg.metrics.cs = append(append([]prometheus.Collector(nil), m.cs...), l.vec)
		}
	}
	c := lg.metrics
	lg.mu.Unlock()
	return register(r, owner, c)
}

func (i *MilvusCounters) solo() *ServerInstall { return legacyOf(i).serverOf(ServerSets{Milvus: i}) }

// UnaryServerInterceptor is the interceptor of the set installed alone.
func (i *MilvusCounters) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return i.solo().UnaryServerInterceptor()
}

// StreamServerInterceptor is the interceptor of the set installed alone.
func (i *MilvusCounters) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return i.solo().StreamServerInterceptor()
}

// Register registers the set installed alone.
func (i *MilvusCounters) Register(r prometheus.Registerer) error {
	return legacyRegister(r, "MilvusCounters", i, i.metrics, i.solo().latency)
}

func (i *MilvusCounters) Describe(ch chan<- *prometheus.Desc) { i.metrics.Describe(ch) }
func (i *MilvusCounters) Collect(ch chan<- prometheus.Metric) { i.metrics.Collect(ch) }

func (s *ServerMetrics) solo() *ServerInstall { return legacyOf(s).serverOf(ServerSets{Provider: s}) }

// UnaryServerInterceptor is the interceptor of the set installed alone.
func (s *ServerMetrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return s.solo().UnaryServerInterceptor()
}

// StreamServerInterceptor is the interceptor of the set installed alone.
func (s *ServerMetrics) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return s.solo().StreamServerInterceptor()
}

// Init is the Init of the set's install: alone, or the one it joined.
func (s *ServerMetrics) Init(srvs ...ServiceInfoProvider) error {
	return legacyInit(legacyOf(s), s.solo(), srvs)
}

// Register registers the set installed alone.
func (s *ServerMetrics) Register(r prometheus.Registerer) error {
	return legacyRegister(r, "ServerMetrics", s, s.metrics, s.solo().latency)
}

func (s *ServerMetrics) Describe(ch chan<- *prometheus.Desc) { s.metrics.Describe(ch) }
func (s *ServerMetrics) Collect(ch chan<- prometheus.Metric) { s.metrics.Collect(ch) }

func (c *ClientMetrics) solo() *ClientInstall { return legacyOf(c).clientOf(ClientSets{Provider: c}) }

// UnaryClientInterceptor is the interceptor of the set installed alone.
func (c *ClientMetrics) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return c.solo().UnaryClientInterceptor()
}

// StreamClientInterceptor is the interceptor of the set installed alone.
func (c *ClientMetrics) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return c.solo().StreamClientInterceptor()
}

// Register registers the set installed alone.
func (c *ClientMetrics) Register(r prometheus.Registerer) error {
	return legacyRegister(r, "ClientMetrics", c, c.metrics, c.solo().latency)
}

func (c *ClientMetrics) Describe(ch chan<- *prometheus.Desc) { c.metrics.Describe(ch) }
func (c *ClientMetrics) Collect(ch chan<- prometheus.Metric) { c.metrics.Collect(ch) }

func (m *Milvus26) solo() *ServerInstall { return legacyOf(m).serverOf(ServerSets{Milvus26: m}) }

// UnaryServerInterceptor is the interceptor of the set installed alone.
func (m *Milvus26) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return m.solo().UnaryServerInterceptor()
}

// Register registers the set installed alone.
func (m *Milvus26) Register(r prometheus.Registerer) error {
	return legacyRegister(r, "Milvus26", m, m.metrics, m.solo().latency)
}

func (m *Milvus26) Describe(ch chan<- *prometheus.Desc) { m.metrics.Describe(ch) }
func (m *Milvus26) Collect(ch chan<- prometheus.Metric) { m.metrics.Collect(ch) }

// ServerStatsHandler is the stats handler of the set's server side
// installed alone.
func (a *A66) ServerStatsHandler() stats.Handler {
	return legacyOf(a).serverOf(ServerSets{A66: a}).StatsHandler()
}

// DialOptions are the options of the set's client side installed alone.
func (a *A66) DialOptions() []grpc.DialOption {
	return legacyOf(a).clientOf(ClientSets{A66: a}).DialOptions()
}

// Init is the Init of the set's server side installed alone.
func (a *A66) Init(srvs ...ServiceInfoProvider) error {
	return legacyInit(legacyOf(a), legacyOf(a).serverOf(ServerSets{A66: a}), srvs)
}

// Register registers the set's metrics.
func (a *A66) Register(r prometheus.Registerer) error {
	return register(r, "A66", a.metrics)
}

func (a *A66) Describe(ch chan<- *prometheus.Desc) { a.metrics.Describe(ch) }
func (a *A66) Collect(ch chan<- prometheus.Metric) { a.metrics.Collect(ch) }
