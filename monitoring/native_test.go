package monitoring_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
	"github.com/grpcmetrics/grpcmetrics/monitoring/mixin"
)

// TestQuantilePanelsOnNativeHistograms runs the generic flavour's latency
// panels on a real Prometheus with its native-histograms feature, which
// scrapes the protobuf format and stores a histogram that has native
// buckets as one native series, with no _bucket series: the servers' and
// clients' handling-time histograms here have native buckets beside the
// classic ones (interceptor.Histogram.NativeBucketFactor). Every quantile
// panel must answer, from the native histogram.
func TestQuantilePanelsOnNativeHistograms(t *testing.T) {
	// Not parallel: like every test here that runs a Prometheus, it runs
	// alone, on a machine of two cores.
	bin := promtest.RequireBinary(t, "prometheus")
	s := newGenericStackWith(t, false, interceptor.Histogram{NativeBucketFactor: 1.1})
	ctx, stop := context.WithCancel(context.Background())
	wait := traffic(ctx, 50*time.Millisecond, s)
	t.Cleanup(func() {
		stop()
		n := wait()
		t.Logf("traffic: %d calls, %d came back with an error", n.calls, n.errors)
	})
	const job = "native"
	srv := promtest.Start(t, bin, promtest.Config{
		Jobs:     []promtest.Job{{Name: job, Targets: []string{s.metrics}}},
		Features: []string{"native-histograms"},
	})

	var checks []check
	for _, c := range dashboardChecks(t, string(mixin.Generic), job, s.metrics) {
		if strings.Contains(c.expr, "histogram_quantile") {
			checks = append(checks, c)
		}
	}
	require.Len(t, checks, 5, "three quantiles of every method, the p99 by method, the outgoing p99")
	// Prometheus stores the histograms as native ones only.
	stored := func(name string) check {
		return check{name: "stored " + name, expr: fmt.Sprintf("count(%s{job=%q})", name, job), positive: true}
	}
	checks = append(checks, stored("grpc_server_handling_seconds"), stored("grpc_client_handling_seconds"))

	// Every target scraped three times, then every check until it is
	// sane: events, bounded by promtest.Patience.
	srv.WaitScraped(t, 1, 3)
	qctx, cancel := context.WithTimeout(context.Background(), promtest.Patience)
	defer cancel()
	last := pollChecks(qctx, queryOf(qctx, srv.URL), checks)
	for i, c := range checks {
		assert.Empty(t, last[i], "%s\nquery: %s", c.name, c.expr)
	}
	for _, name := range []string{"grpc_server_handling_seconds_bucket", "grpc_client_handling_seconds_bucket"} {
		v, err := promtest.QueryValue(context.Background(), srv.URL, fmt.Sprintf("count(%s{job=%q})", name, job))
		require.NoError(t, err)
		assert.Empty(t, v, "%s series stored: the quantiles must have come from the native histograms", name)
	}
	native, err := promtest.QueryValue(context.Background(), srv.URL, fmt.Sprintf(`count({job=%q, __name__=~"grpc_(server|client)_handling_seconds"})`, job))
	require.NoError(t, err)
	t.Logf("%s native histogram series stored, where the classic buckets would be %d series each", native, len(interceptor.DefaultBuckets())+3)
}
