package grpcrecorder

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	estats "google.golang.org/grpc/experimental/stats"
)

// DefaultLimit is the number of distinct label tuples a metric keeps
// unless [Config].Limit says otherwise: the OpenTelemetry SDK's default
// cardinality limit, under which grpc-go's plugin keeps 1999 attribute sets
// and its overflow set.
const DefaultLimit = 2000

// MaxLimit is the largest [Config].Limit.
const MaxLimit = 1 << 20

// Overflow is the value of every label of a metric's overflow tuple: the
// values recorded with a tuple that found no room under the limit.
const Overflow = "grpcmetrics-overflow"

// OverflowCounterName is the counter of the values written under the
// overflow tuple, with the label metric (the family's name).
const OverflowCounterName = "grpcmetrics_grpc_metric_overflow_total"

// Config says which of grpc-go's metrics a [Recorder] writes. The zero
// Config is refused: it names no metric.
type Config struct {
	// Metrics are the names of the metrics to write, as grpc-go registers
	// them ("grpc.subchannel.connection_attempts_succeeded"). Each must be
	// registered when New is called: the packages that record them
	// register them in their init functions.
	Metrics []string
	// OptionalLabels are the optional labels to write, as grpc-go names
	// them ("grpc.lb.locality"), on every metric turned on that has them.
	// Each must be an optional label of one of those metrics.
	OptionalLabels []string
	// Limit is the number of distinct label tuples each metric keeps, from
	// 1 to MaxLimit; 0 means DefaultLimit.
	Limit int
	// Logger logs the first error an async reporter returns; nil logs
	// nothing.
	Logger *zap.Logger
}

// Recorder writes grpc-go's metrics that [Config] names (see the package
// documentation). It is safe for concurrent use.
type Recorder struct {
	estats.UnimplementedMetricsRecorder

	metrics       map[*estats.MetricDescriptor]*metric // read-only after New
	ordered       []*metric                            // by name
	overflowTotal *prometheus.CounterVec
	logger        *zap.Logger
	reportFailed  atomic.Bool // an async reporter's error was logged

	mu        sync.Mutex
	reporters map[*registration]struct{}
}

// New builds a Recorder. A metric grpc-go has not registered, an optional
// label none of the metrics has, a limit out of range, or no metric at all
// is an error that names it.
func New(cfg Config) (*Recorder, error) {
	limit := cfg.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return nil, fmt.Errorf("limit %d is out of range [1, %d]", cfg.Limit, MaxLimit)
	}
	if len(cfg.Metrics) == 0 {
		return nil, errors.New("no metric named")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	r := &Recorder{
		metrics:   make(map[*estats.MetricDescriptor]*metric),
		logger:    logger,
		reporters: make(map[*registration]struct{}),
		overflowTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: OverflowCounterName,
			Help: "Total number of values of grpc-go's metrics written under the overflow label tuple \"" + Overflow + "\", because their metric kept as many tuples as its limit.",
		}, []string{"metric"}),
	}
	optional := make(map[string]bool)
	for _, l := range cfg.OptionalLabels {
		optional[l] = true
	}
	known := make(map[string]bool) // the optional labels of the metrics named
	families := make(map[string]string)
	var errs []error
	names := slices.Clone(cfg.Metrics)
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		d := estats.DescriptorForMetric(name)
		if d == nil {
			errs = append(errs, fmt.Errorf("metric %q is not registered by grpc-go (the per-call metrics are not recorded through it; the others are registered by the package that records them, which the program must import)", name))
			continue
		}
		for _, l := range d.OptionalLabels {
			known[l] = true
		}
		m, err := newMetric(d, optional, limit, r.overflowTotal)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, dup := families[m.name]; dup {
			errs = append(errs, fmt.Errorf("metrics %q and %q are both written %s", other, name, m.name))
			continue
		}
		families[m.name] = name
		r.metrics[d] = m
		r.ordered = append(r.ordered, m)
	}
	for _, l := range slices.Sorted(maps.Keys(optional)) {
		if !known[l] {
			errs = append(errs, fmt.Errorf("optional label %q is not an optional label of the metrics named", l))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// A family the registry would refuse (a name or label the exporter's
	// translation leaves invalid) is refused here, once.
	if err := prometheus.NewRegistry().Register(r); err != nil {
		return nil, err
	}
	return r, nil
}

// RecordInt64Count adds incr to the counter of h's metric, if it is
// written; a negative incr, which a counter cannot take, is dropped.
func (r *Recorder) RecordInt64Count(h *estats.Int64CountHandle, incr int64, labels ...string) {
	if m := r.metrics[h.Descriptor()]; m != nil && m.counter != nil && incr >= 0 {
		if e, _ := m.entryOf(labels); e != nil {
			e.counter.Add(float64(incr))
		}
	}
}

// RecordFloat64Count adds incr to the counter of h's metric, if it is
// written; a negative incr is dropped.
func (r *Recorder) RecordFloat64Count(h *estats.Float64CountHandle, incr float64, labels ...string) {
	if m := r.metrics[h.Descriptor()]; m != nil && m.counter != nil && incr >= 0 {
		if e, _ := m.entryOf(labels); e != nil {
			e.counter.Add(incr)
		}
	}
}

// RecordInt64Histo observes v in the histogram of h's metric, if it is
// written.
func (r *Recorder) RecordInt64Histo(h *estats.Int64HistoHandle, v int64, labels ...string) {
	if m := r.metrics[h.Descriptor()]; m != nil && m.histogram != nil {
		if e, _ := m.entryOf(labels); e != nil {
			e.observer.Observe(float64(v))
		}
	}
}

// RecordFloat64Histo observes v in the histogram of h's metric, if it is
// written.
func (r *Recorder) RecordFloat64Histo(h *estats.Float64HistoHandle, v float64, labels ...string) {
	if m := r.metrics[h.Descriptor()]; m != nil && m.histogram != nil {
		if e, _ := m.entryOf(labels); e != nil {
			e.observer.Observe(v)
		}
	}
}

// RecordInt64Gauge sets the gauge of h's metric to v, if it is written.
func (r *Recorder) RecordInt64Gauge(h *estats.Int64GaugeHandle, v int64, labels ...string) {
	if m := r.metrics[h.Descriptor()]; m != nil && m.gauge != nil {
		if e, _ := m.entryOf(labels); e != nil {
			e.gauge.Set(float64(v))
		}
	}
}

// RecordInt64UpDownCount adds incr, which may be negative, to the gauge of
// h's metric, if it is written.
func (r *Recorder) RecordInt64UpDownCount(h *estats.Int64UpDownCountHandle, incr int64, labels ...string) {
	if m := r.metrics[h.Descriptor()]; m != nil && m.gauge != nil {
		if e, _ := m.entryOf(labels); e != nil {
			e.gauge.Add(float64(incr))
		}
	}
}

// Describe implements [prometheus.Collector].
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range r.ordered {
		m.describe(ch)
	}
	r.overflowTotal.Describe(ch)
}

// Collect implements [prometheus.Collector]: the series recorded so far,
// and the async gauges' values, which it asks the reporters registered
// for.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	for _, m := range r.ordered {
		m.collect(ch)
	}
	r.collectAsync(ch)
	r.overflowTotal.Collect(ch)
}

// SetLogger replaces the logger of Config.Logger (nil: the recorder logs
// nothing). Call it before the recorder is used: the install that serves
// it gives it its logger as it is built.
func (r *Recorder) SetLogger(l *zap.Logger) {
	if l == nil {
		l = zap.NewNop()
	}
	r.logger = l
}
