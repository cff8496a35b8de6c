package grpcrecorder

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	estats "google.golang.org/grpc/experimental/stats"
)

// registration is a reporter that grpc-go registered, with the async
// gauges it reports that the recorder writes.
type registration struct {
	reporter estats.AsyncMetricReporter
	metrics  map[*estats.MetricDescriptor]*metric
}

// RegisterAsyncReporter registers reporter for the async gauges among
// descriptors that the recorder writes: on each scrape, Collect asks it for
// their values. If it reports none of them, nothing is registered. The
// function returned unregisters it; it may be called more than once, from
// any goroutine.
func (r *Recorder) RegisterAsyncReporter(reporter estats.AsyncMetricReporter, descriptors ...estats.AsyncMetric) func() {
	reg := &registration{reporter: reporter, metrics: make(map[*estats.MetricDescriptor]*metric)}
	for _, am := range descriptors {
		if am == nil {
			continue
		}
		if m := r.metrics[am.Descriptor()]; m != nil && m.async != nil {
			reg.metrics[m.desc] = m
		}
	}
	if reporter == nil || len(reg.metrics) == 0 {
		return func() {}
	}
	r.mu.Lock()
	r.reporters[reg] = struct{}{}
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.reporters, reg)
		r.mu.Unlock()
	}
}

// observation gathers the async gauges' values of one scrape: a tuple's
// last value, and the sum of the values of the tuples that found no room.
type observation struct {
	mu     sync.Mutex
	values map[*metric]map[*entry]float64
}

// asyncRecorder is what one reporter records into during one scrape.
type asyncRecorder struct {
	reg *registration
	obs *observation
}

// RecordInt64AsyncGauge records v for the tuple that labels carry, if the
// reporter was registered for h's metric and the recorder writes it.
func (a asyncRecorder) RecordInt64AsyncGauge(h *estats.Int64AsyncGaugeHandle, v int64, labels ...string) {
	m := a.reg.metrics[h.Descriptor()]
	if m == nil {
		return
	}
	e, overflowed := m.entryOf(labels)
	if e == nil {
		return
	}
	a.obs.mu.Lock()
	defer a.obs.mu.Unlock()
	vs := a.obs.values[m]
	if vs == nil {
		vs = make(map[*entry]float64)
		a.obs.values[m] = vs
	}
	if overflowed {
		vs[e] += float64(v)
	} else {
		vs[e] = float64(v)
	}
}

// collectAsync asks every reporter registered for its values and sends
// them, as gauges. A tuple that no reporter reports in a scrape has no
// series in it, as with the plugin's observable gauges.
func (r *Recorder) collectAsync(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	regs := make([]*registration, 0, len(r.reporters))
	for reg := range r.reporters {
		regs = append(regs, reg)
	}
	r.mu.Unlock()
	if len(regs) == 0 {
		return
	}
	obs := &observation{values: make(map[*metric]map[*entry]float64)}
	for _, reg := range regs { // without r.mu: a reporter may unregister
		if err := reg.reporter.Report(asyncRecorder{reg: reg, obs: obs}); err != nil && r.reportFailed.CompareAndSwap(false, true) {
			r.logger.Error("grpcmetrics: an async reporter of grpc-go's metrics returned an error; its values are written as far as it reported them (logged once)", zap.Error(err))
		}
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	for _, m := range r.ordered {
		for e, v := range obs.values[m] {
			cm, err := prometheus.NewConstMetric(m.async, prometheus.GaugeValue, v, e.values...)
			if err != nil {
				cm = prometheus.NewInvalidMetric(m.async, err)
			}
			ch <- cm
		}
	}
}
