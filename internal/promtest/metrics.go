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
	hs, err := httpserver.New(g, httpserver.Options{Addr: "127.0.0.1:0"})
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
