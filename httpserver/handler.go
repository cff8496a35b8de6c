package httpserver

import (
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Paths served by a [Server]. Any other path is answered with 404.
const (
	// MetricsPath serves the gatherer in the Prometheus exposition formats.
	MetricsPath = "/metrics"
	// HealthPath is the liveness path: it answers 200 with the body "ok\n"
	// whenever the server is serving, without gathering metrics.
	HealthPath = "/healthz"
)

// newHandler builds the mux of one listener of a Server from validated
// options, with maxInFlight concurrent scrapes. Each listener has a
// handler, and so budgets, of its own; their handler metrics are shared.
func newHandler(g prometheus.Gatherer, o Options, maxInFlight int) (http.Handler, error) {
	var metrics http.Handler = promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:            promhttpLogger{l: o.Logger},
		MaxRequestsInFlight: maxInFlight,
		Timeout:             o.Timeout,
		EnableOpenMetrics:   o.OpenMetrics,

		EnableOpenMetricsTextCreatedSamples: o.OpenMetricsCreatedSamples,
	})
	// A client beyond its own budget is refused before it takes a slot of
	// promhttp's, and counted among the 503s.
	metrics = newClientLimiter(metrics, o.MaxRequestsInFlightPerClient)
	if reg := handlerMetricsRegisterer(g, o); reg != nil {
		var err error
		if metrics, err = instrument(reg, metrics); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle(MetricsPath, metrics)
	mux.Handle(HealthPath, healthHandler{log: o.Logger})
	return mux, nil
}

// handlerMetricsRegisterer picks where the promhttp handler metrics go, as
// documented on [Options.Registerer]; nil means no instrumentation.
func handlerMetricsRegisterer(g prometheus.Gatherer, o Options) prometheus.Registerer {
	switch {
	case o.DisableHandlerMetrics:
		return nil
	case o.Registerer != nil:
		return o.Registerer
	}
	if reg, ok := g.(prometheus.Registerer); ok {
		return reg
	}
	return nil
}

// healthHandler answers 200 "ok".
type healthHandler struct {
	log *zap.Logger
}

func (h healthHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if _, err := io.WriteString(w, "ok\n"); err != nil {
		// The client has gone away; nothing else to do.
		h.log.Debug("httpserver: writing health response", zap.Error(err))
	}
}
