package promtest

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
)

// ServeMetrics serves g's /metrics on a free loopback port until the test
// ends, and returns its host:port for a scrape configuration.
func ServeMetrics(t testing.TB, g prometheus.Gatherer) string {
	t.Helper()
	return ServeMetricsWith(t, g, httpserver.Options{})
}

// ServeMetricsWith is [ServeMetrics] with the options o, such as
// [httpserver.Options.OpenMetrics]; an empty o.Addr means a free loopback
// port.
func ServeMetricsWith(t testing.TB, g prometheus.Gatherer, o httpserver.Options) string {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	hs, err := httpserver.New(g, o)
	require.NoError(t, err)
	require.NoError(t, hs.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			t.Errorf("shutting down /metrics: %v", err)
		}
	})
	return hs.Addr()
}
