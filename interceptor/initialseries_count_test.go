package interceptor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// itcExported returns the number of series that reg exports, as Prometheus
// stores them: a classic histogram is its buckets (+Inf included), _sum
// and _count.
func itcExported(t *testing.T, reg prometheus.Gatherer) int {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				n += len(h.GetBucket()) + 1 + 2 // the buckets, +Inf, _sum and _count
				continue
			}
			n++
		}
	}
	return n
}

// TestInitialSeriesCount counts the series that WithInitialSeries creates
// per method, as Prometheus stores them, with the histogram's default
// buckets (17 bounds: 20 series per histogram), and checks the numbers
// that options.go's godoc and docs/migrating.md state.
func TestInitialSeriesCount(t *testing.T) {
	require.Len(t, interceptor.DefaultBuckets(), 17)
	histogram := interceptor.WithHistogram(interceptor.Histogram{})
	tests := []struct {
		name string
		opts []interceptor.ServerMetricsOption
		want int // per method
	}{
		{"alone", nil, 21},
		{"with the histogram", []interceptor.ServerMetricsOption{histogram}, 21 + 20},
		{"with the histogram by code", []interceptor.ServerMetricsOption{histogram, interceptor.WithCodeOnHistogram()}, 21 + 17*20},
		{"with the histogram by code and in flight", []interceptor.ServerMetricsOption{histogram, interceptor.WithCodeOnHistogram(), interceptor.WithInFlight()}, 21 + 17*20 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			count := func(initial bool) (series, methods int) {
				opts := tt.opts
				if initial {
					opts = append([]interceptor.ServerMetricsOption{interceptor.WithInitialSeries()}, opts...)
				}
				sm, err := interceptor.NewServerMetrics(opts...)
				require.NoError(t, err)
				reg := prometheus.NewPedanticRegistry()
				require.NoError(t, sm.Register(reg))
				srv := grpc.NewServer()
				testpb.RegisterTestServiceServer(srv, testpb.UnimplementedTestServiceServer{})
				require.NoError(t, sm.Init(srv))
				return itcExported(t, reg), len(srv.GetServiceInfo()["grpc.testing.TestService"].Methods)
			}
			with, methods := count(true)
			without, _ := count(false) // the set's own series, which exist either way
			require.Positive(t, methods)
			assert.Equal(t, tt.want*methods, with-without, "%d methods", methods)
		})
	}

	for file, phrases := range map[string][]string{
		"options.go": {"21 series per method", "41 with [WithHistogram]", "361 with [WithCodeOnHistogram]", "362 with [WithInFlight] too"},
		filepath.Join("..", "docs", "migrating.md"): {"21 series per method", "41 with the histogram", "361 with `WithCodeOnHistogram`", "362 with `WithInFlight` too"},
	} {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		text := strings.Join(strings.Fields(strings.ReplaceAll(string(data), "//", "")), " ")
		for _, p := range phrases {
			assert.True(t, strings.Contains(text, p), "%s does not say %q", file, p)
		}
	}
}
