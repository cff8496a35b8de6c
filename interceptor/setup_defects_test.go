package interceptor_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// suRegistered returns registry.New()'s metrics, registered on a registry
// of their own, as methodmap.Default requires.
func suRegistered(t testing.TB) *registry.Metrics {
	t.Helper()
	m := registry.New()
	require.NoError(t, m.Register(prometheus.NewRegistry()))
	return m
}
