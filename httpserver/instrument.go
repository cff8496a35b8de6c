package httpserver

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// instrument wraps h with [promhttp.InstrumentMetricHandler] registered on
// reg, turning the panics of that function into an error.
//
// In client_golang v1.25.0, InstrumentMetricHandler reuses a collector when
// Register returns an [prometheus.AlreadyRegisteredError], but panics on any
// other registration error, and also when the existing collector is not of
// the type it expects (it type-asserts ExistingCollector). It is therefore
// called with a guardRegisterer that lets through only the cases
// InstrumentMetricHandler handles and records every other failure. On
// failure, collectors this call registered are unregistered again, so a
// failed [New] leaves reg as it found it.
func instrument(reg prometheus.Registerer, h http.Handler) (http.Handler, error) {
	g := &guardRegisterer{reg: reg}
	wrapped := promhttp.InstrumentMetricHandler(g, h)
	if g.err != nil {
		for _, c := range g.added {
			reg.Unregister(c)
		}
		return nil, g.err
	}
	return wrapped, nil
}

// guardRegisterer forwards to reg. Instead of a failure that
// InstrumentMetricHandler would panic on, it records the error and reports
// the rejected collector as "already registered" with itself as the existing
// one, so InstrumentMetricHandler carries on (with an unregistered collector
// that instrument then throws away).
type guardRegisterer struct {
	reg   prometheus.Registerer
	added []prometheus.Collector
	err   error // first failure
}

var _ prometheus.Registerer = (*guardRegisterer)(nil)

// Register registers c on the wrapped registerer; see guardRegisterer.
func (g *guardRegisterer) Register(c prometheus.Collector) error {
	if g.err != nil {
		return prometheus.AlreadyRegisteredError{ExistingCollector: c, NewCollector: c}
	}
	err := g.reg.Register(c)
	if err == nil {
		g.added = append(g.added, c)
		return nil
	}
	var are prometheus.AlreadyRegisteredError
	switch {
	case !errors.As(err, &are):
		g.err = fmt.Errorf("httpserver: registering promhttp handler metrics: %w", err)
	case reflect.TypeOf(are.ExistingCollector) == reflect.TypeOf(c):
		// An equal collector of the same type: InstrumentMetricHandler
		// reuses it.
		return err
	default:
		g.err = fmt.Errorf("httpserver: registering promhttp handler metrics: %s is already registered as a %T, which promhttp.InstrumentMetricHandler cannot reuse: %w",
			describe(c), are.ExistingCollector, err)
	}
	return prometheus.AlreadyRegisteredError{ExistingCollector: c, NewCollector: c}
}

// MustRegister registers each collector like Register. It records failures
// instead of panicking.
func (g *guardRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := g.Register(c); err != nil && g.err == nil {
			g.err = fmt.Errorf("httpserver: registering promhttp handler metrics: %w", err)
		}
	}
}

// Unregister forwards to the wrapped registerer.
func (g *guardRegisterer) Unregister(c prometheus.Collector) bool {
	return g.reg.Unregister(c)
}

// describe returns the descriptors of c, for error messages.
func describe(c prometheus.Collector) string {
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	var descs []string
	for d := range ch {
		descs = append(descs, d.String())
	}
	return strings.Join(descs, ", ")
}
