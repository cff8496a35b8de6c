package httpserver_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
)

// TestSetupNewTypedNil gives New nil values inside non-nil interfaces,
// which must be errors naming the argument or option, not panics.
func TestSetupNewTypedNil(t *testing.T) {
	var nilRegistry *prometheus.Registry
	tests := []struct {
		name string
		g    prometheus.Gatherer
		opts httpserver.Options
		want string
	}{
		{"typed-nil Gatherer", nilRegistry, httpserver.Options{}, "Gatherer"},
		{"typed-nil Gatherer, handler metrics off", nilRegistry, httpserver.Options{DisableHandlerMetrics: true}, "Gatherer"},
		{"nil GathererFunc", prometheus.GathererFunc(nil), httpserver.Options{}, "Gatherer"},
		{"typed-nil Options.Registerer", prometheus.NewRegistry(), httpserver.Options{Registerer: nilRegistry}, "Options.Registerer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = httpserver.New(tt.g, tt.opts) })
			require.ErrorContains(t, err, tt.want)
		})
	}
}
