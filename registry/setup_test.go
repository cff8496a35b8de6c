package registry_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// TestBadSetupIsAnError checks that values not built by the package's
// constructors, and a typed-nil Registerer, give errors instead of panics.
func TestBadSetupIsAnError(t *testing.T) {
	var nilRegistry *prometheus.Registry
	tests := []struct {
		name     string
		register func() error
		want     string
	}{
		{"typed-nil Registerer", func() error { return registry.New().Register(nilRegistry) }, "nil prometheus.Registerer"},
		{"typed-nil Registerer, component", func() error { return registry.NewProxy().Register(nilRegistry) }, "nil prometheus.Registerer"},
		{"typed-nil Registerer, empty component", func() error { return (&registry.QueryNode{}).Register(nilRegistry) }, "nil prometheus.Registerer"},
		{"zero Metrics", func() error { return (&registry.Metrics{}).Register(prometheus.NewRegistry()) }, "Metrics.RootCoord is nil"},
		{"Metrics without DataNode", func() error {
			m := registry.New()
			m.DataNode = nil
			return m.Register(prometheus.NewRegistry())
		}, "Metrics.DataNode is nil"},
		{"nil *Metrics", func() error { return (*registry.Metrics)(nil).Register(prometheus.NewRegistry()) }, "nil *Metrics"},
		{"zero RootCoord", func() error { return (&registry.RootCoord{}).Register(prometheus.NewRegistry()) }, "collector is nil"},
		{"zero Proxy", func() error { return (&registry.Proxy{}).Register(prometheus.NewRegistry()) }, "collector is nil"},
		{"zero DataCoord", func() error { return (&registry.DataCoord{}).Register(prometheus.NewRegistry()) }, "collector is nil"},
		{"zero DataNode", func() error { return (&registry.DataNode{}).Register(prometheus.NewRegistry()) }, "collector is nil"},
		{"nil *RootCoord", func() error { return (*registry.RootCoord)(nil).Register(prometheus.NewRegistry()) }, "nil *RootCoord"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = tt.register() })
			require.ErrorContains(t, err, tt.want)
		})
	}
}
