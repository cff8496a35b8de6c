package grpcrecorder

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	estats "google.golang.org/grpc/experimental/stats"
)

// metric is one of grpc-go's metrics that the recorder writes: its family
// (a vector for the metrics grpc-go records, a description for the async
// gauges, whose values are asked for on scrape) and its label tuples.
type metric struct {
	desc    *estats.MetricDescriptor
	name    string // the family's name
	nValues int    // the label values grpc-go records: required, then every optional one
	keep    []int  // the indices of the values written: the required ones, then the optional ones named

	counter   *prometheus.CounterVec   // counters
	gauge     *prometheus.GaugeVec     // gauges and up-down counters
	histogram *prometheus.HistogramVec // histograms
	async     *prometheus.Desc         // async gauges

	limit         int
	overflowTotal prometheus.Counter // values written under the overflow tuple

	mu       sync.RWMutex
	entries  map[string]*entry // by key (see appendKey); at most limit
	overflow *entry            // made when the first tuple finds no room
}

// entry is one label tuple of a metric, with its series (for an async
// gauge, its label values alone).
type entry struct {
	values   []string
	counter  prometheus.Counter
	gauge    prometheus.Gauge
	observer prometheus.Observer
}

// newMetric makes the family of d, with the optional labels named in
// optional.
func newMetric(d *estats.MetricDescriptor, optional map[string]bool, limit int, overflowTotal *prometheus.CounterVec) (*metric, error) {
	name, err := familyName(d)
	if err != nil {
		return nil, err
	}
	m := &metric{desc: d, name: name, nValues: len(d.Labels) + len(d.OptionalLabels), limit: limit, entries: make(map[string]*entry)}
	var labels []string
	add := func(key string, ix int) error {
		l, err := labelName(key)
		if err != nil {
			return fmt.Errorf("metric %q: label %q: %w", d.Name, key, err)
		}
		if slices.Contains(labels, l) {
			return fmt.Errorf("metric %q: two of its labels are both written %q", d.Name, l)
		}
		labels = append(labels, l)
		m.keep = append(m.keep, ix)
		return nil
	}
	for i, key := range d.Labels {
		if err := add(key, i); err != nil {
			return nil, err
		}
	}
	for i, key := range d.OptionalLabels {
		if optional[key] {
			if err := add(key, len(d.Labels)+i); err != nil {
				return nil, err
			}
		}
	}
	switch d.Type {
	case estats.MetricTypeIntCount, estats.MetricTypeFloatCount:
		m.counter = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: d.Description}, labels)
	case estats.MetricTypeIntGauge, estats.MetricTypeIntUpDownCount:
		m.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: d.Description}, labels)
	case estats.MetricTypeIntHisto, estats.MetricTypeFloatHisto:
		if slices.Contains(labels, "le") {
			return nil, fmt.Errorf("metric %q: a histogram cannot have a label le", d.Name)
		}
		m.histogram = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: d.Description, Buckets: histogramBounds(d)}, labels)
	case estats.MetricTypeIntAsyncGauge:
		m.async = prometheus.NewDesc(name, d.Description, labels, nil)
	}
	m.overflowTotal = overflowTotal.WithLabelValues(name)
	return m, nil
}

// entryOf returns the entry of the tuple that labels, as grpc-go records
// them, carry: its own if it is kept or there is room for it, else the
// overflow entry, counting the value in the overflow counter. It returns
// nil when grpc-go gives another number of values than the descriptor
// has (grpc-go checks this before it calls a recorder).
func (m *metric) entryOf(labels []string) (e *entry, overflowed bool) {
	if len(labels) != m.nValues {
		return nil, false
	}
	var buf [256]byte
	key := m.appendKey(buf[:0], labels)
	m.mu.RLock()
	e, full, ov := m.entries[string(key)], len(m.entries) >= m.limit, m.overflow
	m.mu.RUnlock()
	switch {
	case e != nil:
		return e, false
	case full && ov != nil:
		m.overflowTotal.Inc()
		return ov, true
	}
	return m.admit(key, labels)
}

// admit adds the tuple of key if there is room, or returns the overflow
// entry, made on first use.
func (m *metric) admit(key []byte, labels []string) (*entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entries[string(key)]; e != nil {
		return e, false
	}
	if len(m.entries) >= m.limit {
		if m.overflow == nil {
			values := make([]string, len(m.keep))
			for i := range values {
				values[i] = Overflow
			}
			m.overflow = m.newEntry(values)
		}
		m.overflowTotal.Inc()
		return m.overflow, true
	}
	values := make([]string, len(m.keep))
	for i, ix := range m.keep {
		values[i] = strings.Clone(validUTF8(labels[ix]))
	}
	e := m.newEntry(values)
	m.entries[string(key)] = e
	return e, false
}

// newEntry resolves the series of a tuple.
func (m *metric) newEntry(values []string) *entry {
	e := &entry{values: values}
	switch {
	case m.counter != nil:
		e.counter = m.counter.WithLabelValues(values...)
	case m.gauge != nil:
		e.gauge = m.gauge.WithLabelValues(values...)
	case m.histogram != nil:
		e.observer = m.histogram.WithLabelValues(values...)
	}
	return e
}

// appendKey appends to b the key of the tuple that labels carry: each
// value written, repaired to valid UTF-8, after its length.
func (m *metric) appendKey(b []byte, labels []string) []byte {
	for _, ix := range m.keep {
		v := validUTF8(labels[ix])
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// validUTF8 returns s with each invalid byte sequence replaced by U+FFFD:
// a Prometheus label value is UTF-8. A valid s is returned as it is.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// describe sends the family's description.
func (m *metric) describe(ch chan<- *prometheus.Desc) {
	switch {
	case m.counter != nil:
		m.counter.Describe(ch)
	case m.gauge != nil:
		m.gauge.Describe(ch)
	case m.histogram != nil:
		m.histogram.Describe(ch)
	default:
		ch <- m.async
	}
}

// collect sends the series of a metric grpc-go records (an async gauge's
// are sent by Recorder.collectAsync).
func (m *metric) collect(ch chan<- prometheus.Metric) {
	switch {
	case m.counter != nil:
		m.counter.Collect(ch)
	case m.gauge != nil:
		m.gauge.Collect(ch)
	case m.histogram != nil:
		m.histogram.Collect(ch)
	}
}
