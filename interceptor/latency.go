package interceptor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
)

// DefaultBuckets returns the handling-time histogram's classic buckets, in
// seconds, unless [Histogram.Buckets] says otherwise: from 100 µs to 30 s,
// about three to a decade. Each call returns a new slice.
func DefaultBuckets() []float64 {
	return []float64{
		0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
		0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
	}
}

// Histogram configures the handling-time histogram that [WithHistogram]
// turns on. The zero value is a sensible default: classic buckets
// [DefaultBuckets], no native histogram, no exemplars.
type Histogram struct {
	// Buckets are the classic buckets' upper bounds in seconds, strictly
	// increasing, positive and finite. Nil means [DefaultBuckets].
	Buckets []float64
	// NativeBucketFactor, when above 1, also makes the histogram a native
	// (sparse) one with this growth factor between buckets, such as 1.1;
	// see [prometheus.HistogramOpts].NativeHistogramBucketFactor. 0 means
	// classic buckets only.
	NativeBucketFactor float64
	// NativeMaxBuckets limits a native histogram's buckets (0: no limit).
	NativeMaxBuckets uint32
	// NativeMinResetDuration is the shortest time between resets that the
	// bucket limit may cause (0: reset whenever the limit is hit).
	NativeMinResetDuration time.Duration
	// Exemplar, if set, attaches an exemplar to observations. Prometheus
	// receives them only in OpenMetrics, which changes more than exemplars:
	// see [Exemplar].
	Exemplar *Exemplar
	// CodeLabel adds the grpc_code label after grpc_method: the code
	// counted as in grpc_server_handled_total (see [ServerMetrics]), so
	// that the latency of the successful calls is one query:
	//
	//	histogram_quantile(0.99, sum by (le) (rate(grpc_server_handling_seconds_bucket{grpc_code="OK"}[5m])))
	//
	// It is off by default, as in go-grpc-middleware's provider, whose
	// dashboards and rules read the histogram without it. A child per
	// method and code observed costs more series: up to 17 per method
	// instead of one.
	CodeLabel bool
}

// Exemplar names a label that links an observation to a trace, and a
// function that finds its value in the call's context (for example the
// trace ID of the active span). An empty value attaches no exemplar.
// Values that would make the exemplar longer than Prometheus allows
// ([prometheus.ExemplarMaxRunes] runes, name included) are cut, and invalid
// UTF-8 is repaired, on the request path; the function must be safe for
// concurrent use. A panic in it is recovered and logged, and the
// observation is made without an exemplar.
//
// Exemplars reach Prometheus only in the OpenMetrics format: serve the
// registry with [github.com/grpcmetrics/grpcmetrics/httpserver.Options.OpenMetrics]
// on (promhttp: EnableOpenMetrics), and start Prometheus with
// --enable-feature=exemplar-storage. The text format that /metrics serves by
// default drops them. OpenMetrics also changes what Prometheus ingests from
// the same registry:
//   - integer bucket bounds gain ".0", le="1" becomes le="1.0": on
//     Prometheus 2.x a new series beside the old one, so dashboards and
//     queries over a range that spans the switch lose their continuity
//     (Prometheus 3 writes both as "1.0");
//   - counters whose name does not end in _total are typed unknown
//     ("# TYPE … unknown"), among them three of Milvus v2.0's counters:
//     milvus_proxy_create_index_counter,
//     milvus_proxy_describe_index_counter and
//     milvus_proxy_get_index_state_counter. Their samples keep their names
//     and values.
type Exemplar struct {
	Label string
	Value func(ctx context.Context) string
}

// validate checks h, for WithHistogram.
func (h *Histogram) validate() error {
	var errs []error
	for i, b := range h.Buckets {
		if b <= 0 || math.IsInf(b, 0) || math.IsNaN(b) {
			errs = append(errs, fmt.Errorf("bucket %d is %v; buckets must be positive and finite", i, b))
		} else if i > 0 && b <= h.Buckets[i-1] {
			errs = append(errs, fmt.Errorf("bucket %d (%v) is not above bucket %d (%v)", i, b, i-1, h.Buckets[i-1]))
		}
	}
	if h.NativeBucketFactor != 0 && !(h.NativeBucketFactor > 1) {
		errs = append(errs, fmt.Errorf("NativeBucketFactor %v must be 0 (off) or above 1", h.NativeBucketFactor))
	}
	if h.NativeMinResetDuration < 0 {
		errs = append(errs, fmt.Errorf("NativeMinResetDuration %v is negative", h.NativeMinResetDuration))
	}
	if e := h.Exemplar; e != nil {
		switch {
		case e.Value == nil:
			errs = append(errs, errors.New("Exemplar.Value is nil"))
		case !model.LegacyValidation.IsValidLabelName(e.Label):
			errs = append(errs, fmt.Errorf("Exemplar.Label %q is not a valid label name", e.Label))
		case utf8.RuneCountInString(e.Label) > prometheus.ExemplarMaxRunes/2:
			errs = append(errs, fmt.Errorf("Exemplar.Label %q is longer than %d runes, which leaves too little room for values", e.Label, prometheus.ExemplarMaxRunes/2))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("WithHistogram: %w", err)
	}
	return nil
}

// latency is the handling-time histogram of an install, which the
// install's clock fills. A nil *latency is an install without one.
type latency struct {
	vec      *prometheus.HistogramVec
	exemplar *Exemplar // a copy of the option's, nil without one
	// exemplarRoom is the runes an exemplar's value may take beside its
	// label's name.
	exemplarRoom int
	logger       *zap.Logger
	byCode       bool // Histogram.CodeLabel: a grpc_code label after grpc_method
}

// newLatency builds the histogram of one side, "server" or "client", with
// the grpc_code label if h.CodeLabel.
func newLatency(h *Histogram, side string, logger *zap.Logger) *latency {
	byCode := h.CodeLabel
	buckets := h.Buckets
	if buckets == nil {
		buckets = DefaultBuckets()
	}
	help := "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server."
	if side == "client" {
		help = "Histogram of response latency (seconds) of the gRPC until it is finished by the application."
	}
	labels := []string{labelType, labelService, labelMethod}
	if byCode {
		labels = append(labels, labelCode)
	}
	vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:                            "grpc_" + side + "_handling_seconds",
		Help:                            help,
		Buckets:                         buckets,
		NativeHistogramBucketFactor:     h.NativeBucketFactor,
		NativeHistogramMaxBucketNumber:  h.NativeMaxBuckets,
		NativeHistogramMinResetDuration: h.NativeMinResetDuration,
	}, labels)
	l := &latency{vec: vec, logger: logger, byCode: byCode}
	if h.Exemplar != nil {
		ex := *h.Exemplar
		l.exemplar = &ex
		l.exemplarRoom = prometheus.ExemplarMaxRunes - utf8.RuneCountInString(ex.Label)
	}
	return l
}

// methodLatency is one method's series in the histogram, of one kind of
// call: one, or one per code with the grpc_code label.
type methodLatency struct {
	all    series
	byCode *[numCodes]series // nil without the grpc_code label
}

// newMethodLatency makes the series of a method of kind typ.
func (k *latency) newMethodLatency(typ int, service, method string) methodLatency {
	if !k.byCode {
		return methodLatency{all: series{vec: k.vec.MetricVec, labels: []string{grpcType(typ), service, method}}}
	}
	byCode := new([numCodes]series)
	for c := range numCodes {
		byCode[c] = series{vec: k.vec.MetricVec, labels: []string{grpcType(typ), service, method, codes.Code(c).String()}}
	}
	return methodLatency{byCode: byCode}
}

// of returns the series of a call that ended with code c; codes beyond
// Unauthenticated count as Unknown, as in the handled counters.
func (m *methodLatency) of(c codes.Code) *series {
	if m.byCode == nil {
		return &m.all
	}
	if int(c) >= numCodes {
		c = codes.Unknown
	}
	return &m.byCode[c]
}

// initialise creates the method's series at zero.
func (m *methodLatency) initialise() {
	if m.byCode == nil {
		m.all.get()
		return
	}
	for c := range m.byCode {
		m.byCode[c].get()
	}
}

// observeElapsed records elapsed on obs, with an exemplar if one is
// configured and found.
func (k *latency) observeElapsed(ctx context.Context, obs prometheus.Observer, elapsed time.Duration) {
	d := elapsed.Seconds()
	if k.exemplar != nil {
		if v := k.exemplarValue(ctx); v != "" {
			if eo, ok := obs.(prometheus.ExemplarObserver); ok {
				eo.ObserveWithExemplar(d, prometheus.Labels{k.exemplar.Label: v})
				return
			}
		}
	}
	obs.Observe(d)
}

// exemplarValue returns the exemplar's value for ctx, repaired and cut to
// fit beside the label name; "" if there is none or the function panicked.
func (k *latency) exemplarValue(ctx context.Context) (v string) {
	defer func() {
		if p := recover(); p != nil {
			k.logger.Error("grpcmetrics: the exemplar function panicked; observing without an exemplar", zap.Any("panic", p))
			v = ""
		}
	}()
	v = k.exemplar.Value(ctx)
	room := k.exemplarRoom
	if len(v) <= room && utf8.ValidString(v) {
		return v // fits: no more runes than bytes
	}
	// Read no further than the room allows, however long v is, and repair
	// only that part: each invalid byte counts as one rune, as Prometheus
	// counts it, and becomes U+FFFD.
	end, valid := 0, true
	for n := 0; n < room && end < len(v); n++ {
		r, size := utf8.DecodeRuneInString(v[end:])
		if r == utf8.RuneError && size == 1 {
			valid = false
		}
		end += size
	}
	if valid {
		// A copy: the exemplar outlives the call, and must not keep all
		// of v alive.
		return strings.Clone(v[:end])
	}
	var b strings.Builder
	b.Grow(3 * end) // a byte of v becomes at most the 3 bytes of U+FFFD
	for _, r := range v[:end] {
		b.WriteRune(r) // an invalid byte ranges as utf8.RuneError
	}
	return b.String()
}
