package httpserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const handlerRequests = "promhttp_metric_handler_requests_total"

// familyNames returns the names of the families g gathers.
func familyNames(t *testing.T, g prometheus.Gatherer) []string {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	names := make([]string, 0, len(mfs))
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	return names
}

// TestHandlerMetrics checks where promhttp_metric_handler_requests_total is
// registered for each way of configuring it, and that it counts scrapes.
func TestHandlerMetrics(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the gatherer to serve, the options, and the
		// registry that must end up holding the handler metrics (nil:
		// none may).
		setup func(served, other *prometheus.Registry) (prometheus.Gatherer, httpserver.Options, *prometheus.Registry)
	}{
		{"nil Registerer, gatherer is a Registry", func(served, _ *prometheus.Registry) (prometheus.Gatherer, httpserver.Options, *prometheus.Registry) {
			return served, httpserver.Options{}, served
		}},
		{"explicit Registerer", func(served, other *prometheus.Registry) (prometheus.Gatherer, httpserver.Options, *prometheus.Registry) {
			return served, httpserver.Options{Registerer: other}, other
		}},
		{"nil Registerer, gatherer is not a Registerer", func(served, _ *prometheus.Registry) (prometheus.Gatherer, httpserver.Options, *prometheus.Registry) {
			return prometheus.Gatherers{served}, httpserver.Options{}, nil
		}},
		{"DisableHandlerMetrics", func(served, other *prometheus.Registry) (prometheus.Gatherer, httpserver.Options, *prometheus.Registry) {
			return served, httpserver.Options{Registerer: other, DisableHandlerMetrics: true}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			served, other := newRegistry(t), prometheus.NewRegistry()
			g, opts, want := tt.setup(served, other)
			srv := start(t, g, opts)

			var body string
			for range 3 {
				var code int
				code, body = get(t, http.DefaultClient, "http://"+srv.Addr()+"/metrics")
				require.Equal(t, http.StatusOK, code)
			}
			if want == nil {
				assert.NotContains(t, familyNames(t, served), handlerRequests)
				assert.NotContains(t, familyNames(t, other), handlerRequests)
				return
			}
			if want == served {
				// The third scrape sees the two before it.
				assert.Contains(t, body, "\n"+handlerRequests+`{code="200"} 2`+"\n")
			}
			expected := `
# HELP promhttp_metric_handler_requests_total Total number of scrapes by HTTP status code.
# TYPE promhttp_metric_handler_requests_total counter
promhttp_metric_handler_requests_total{code="200"} 3
promhttp_metric_handler_requests_total{code="500"} 0
promhttp_metric_handler_requests_total{code="503"} 0
`
			assert.NoError(t, testutil.GatherAndCompare(want, strings.NewReader(expected), handlerRequests))
			assert.Contains(t, familyNames(t, want), "promhttp_metric_handler_requests_in_flight")
		})
	}
}

// TestHandlerMetricsShared checks that servers sharing a registry (directly
// or through a wrapping Registerer) reuse the handler metrics instead of
// failing.
func TestHandlerMetricsShared(t *testing.T) {
	tests := []struct {
		name string
		reg  func(*prometheus.Registry) prometheus.Registerer
	}{
		{"same registry", func(r *prometheus.Registry) prometheus.Registerer { return r }},
		{"wrapped registerer", func(r *prometheus.Registry) prometheus.Registerer {
			return prometheus.WrapRegistererWith(prometheus.Labels{"server": "metrics"}, r)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(t)
			a := start(t, reg, httpserver.Options{Registerer: tt.reg(reg)})
			b := start(t, reg, httpserver.Options{Registerer: tt.reg(reg)})
			for _, srv := range []*httpserver.Server{a, b} {
				code, _ := get(t, http.DefaultClient, "http://"+srv.Addr()+"/metrics")
				require.Equal(t, http.StatusOK, code)
			}
			mfs, err := reg.Gather()
			require.NoError(t, err)
			var total float64
			for _, mf := range mfs {
				if mf.GetName() != handlerRequests {
					continue
				}
				for _, m := range mf.GetMetric() {
					total += m.GetCounter().GetValue()
				}
			}
			assert.Equal(t, 2.0, total, "both servers count into the one shared counter")
		})
	}
}

// TestHandlerMetricsConflict checks that collectors which
// promhttp.InstrumentMetricHandler cannot use make New fail with an error
// naming the metric, without a panic, and leave the registry as it was.
func TestHandlerMetricsConflict(t *testing.T) {
	tests := []struct {
		name     string
		conflict prometheus.Collector
		metric   string
		// panics: whether promhttp.InstrumentMetricHandler itself panics
		// on this registry (the case the guard exists for).
		panics bool
	}{
		{
			name:     "requests_total with another type and help",
			conflict: prometheus.NewGauge(prometheus.GaugeOpts{Name: handlerRequests, Help: "Something else."}),
			metric:   handlerRequests,
			panics:   true,
		},
		{
			name:     "in_flight with another help (after requests_total registered)",
			conflict: prometheus.NewCounter(prometheus.CounterOpts{Name: "promhttp_metric_handler_requests_in_flight", Help: "Something else."}),
			metric:   "promhttp_metric_handler_requests_in_flight",
			panics:   true,
		},
		{
			name: "in_flight equal but a GaugeFunc, not a Gauge",
			conflict: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "promhttp_metric_handler_requests_in_flight",
				Help: "Current number of scrapes being served.",
			}, func() float64 { return 0 }),
			metric: "promhttp_metric_handler_requests_in_flight",
			panics: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.panics {
				r := prometheus.NewRegistry()
				require.NoError(t, r.Register(tt.conflict))
				assert.Panics(t, func() { promhttp.InstrumentMetricHandler(r, http.NotFoundHandler()) },
					"promhttp.InstrumentMetricHandler is expected to panic here")
			}

			reg := newRegistry(t)
			require.NoError(t, reg.Register(tt.conflict))
			before := familyNames(t, reg)
			var err error
			require.NotPanics(t, func() {
				_, err = httpserver.New(reg, httpserver.Options{})
			})
			require.Error(t, err)
			assert.ErrorContains(t, err, "httpserver: registering promhttp handler metrics")
			assert.ErrorContains(t, err, tt.metric)
			assert.Equal(t, before, familyNames(t, reg), "a failed New must unregister what it registered")
		})
	}
}
