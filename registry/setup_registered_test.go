package registry_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// TestSetupRegistered checks which registrations a component remembers:
// every successful Register path, and nothing else.
func TestSetupRegistered(t *testing.T) {
	registered := func(m *registry.Metrics) [4]bool {
		return [4]bool{m.RootCoord.Registered(), m.Proxy.Registered(), m.DataCoord.Registered(), m.DataNode.Registered()}
	}
	tests := []struct {
		name     string
		register func(*testing.T, *registry.Metrics, *prometheus.Registry)
		want     [4]bool // RootCoord, Proxy, DataCoord, DataNode
	}{
		{"nothing", func(*testing.T, *registry.Metrics, *prometheus.Registry) {}, [4]bool{}},
		{"Metrics.Register", func(t *testing.T, m *registry.Metrics, reg *prometheus.Registry) {
			require.NoError(t, m.Register(reg))
		}, [4]bool{true, true, true, true}},
		{"Proxy.Register", func(t *testing.T, m *registry.Metrics, reg *prometheus.Registry) {
			require.NoError(t, m.Proxy.Register(reg))
		}, [4]bool{false, true, false, false}},
		{"by hand", func(_ *testing.T, m *registry.Metrics, reg *prometheus.Registry) {
			reg.MustRegister(m.Collectors()...)
		}, [4]bool{}},
		{"failed Register", func(t *testing.T, m *registry.Metrics, reg *prometheus.Registry) {
			require.NoError(t, registry.New().DataNode.Register(reg)) // another set's collectors under the same names
			require.Error(t, m.Register(reg))
			require.Error(t, m.DataNode.Register(reg))
		}, [4]bool{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := registry.New()
			tt.register(t, m, prometheus.NewRegistry())
			assert.Equal(t, tt.want, registered(m))
		})
	}
	assert.False(t, (*registry.RootCoord)(nil).Registered(), "nil component")
}
