package generic

import (
	"context"
	"testing"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// tenantKey is the context key of the tenant the benchmarks' calls carry.
type tenantKey struct{}

// The label values each library's function returns, made once so that
// the functions allocate nothing: the cost measured is the interceptors'.
var (
	tenantValues = []string{"tenant-a"}
	tenantLabels = prometheus.Labels{"tenant": "tenant-a"}
)

func providerContextServer() grpc.UnaryServerInterceptor {
	sm := grpcprom.NewServerMetrics(
		grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(buckets)),
		grpcprom.WithContextLabels("tenant"))
	prometheus.NewRegistry().MustRegister(sm)
	return sm.UnaryServerInterceptor(grpcprom.WithLabelsFromContext(func(context.Context) prometheus.Labels { return tenantLabels }))
}

func grpcmetricsContextServer(tb testing.TB) grpc.UnaryServerInterceptor {
	sm, err := interceptor.NewServerMetrics(
		interceptor.WithContextLabels(interceptor.ContextLabels{
			Names:  []string{"tenant"},
			Values: func(context.Context) []string { return tenantValues },
		}))
	require.NoError(tb, err)
	return serverInstall(tb, interceptor.ServerSets{Provider: sm}, interceptor.WithHistogram(interceptor.Histogram{Buckets: buckets})).UnaryServerInterceptor()
}

// BenchmarkContextLabels measures a unary server call with one label from
// the context, histogram on, in go-grpc-middleware's provider
// (WithContextLabels and WithLabelsFromContext) and in ServerMetrics
// (WithContextLabels), each interceptor called directly. Run:
//
//	cd bench && go test -run '^$' -bench 'ContextLabels' -count 10 -benchmem ./generic/
func BenchmarkContextLabels(b *testing.B) {
	ctx := context.WithValue(context.Background(), tenantKey{}, "tenant-a")
	run := func(b *testing.B, icpt grpc.UnaryServerInterceptor) {
		info := &grpc.UnaryServerInfo{FullMethod: unaryMethod}
		sinkResp, sinkErr = icpt(ctx, req, info, handler) // resolve series first
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			sinkResp, sinkErr = icpt(ctx, req, info, handler)
		}
	}
	b.Run("unary-server-context-label/provider", func(b *testing.B) { run(b, providerContextServer()) })
	b.Run("unary-server-context-label/grpcmetrics-ServerMetrics", func(b *testing.B) { run(b, grpcmetricsContextServer(b)) })
}

// TestContextLabelsAllocateNothing checks that a unary server call with a
// label from the context allocates nothing in ServerMetrics, the label
// function aside (it returns a slice made beforehand).
func TestContextLabelsAllocateNothing(t *testing.T) {
	icpt := grpcmetricsContextServer(t)
	ctx := context.Background()
	info := &grpc.UnaryServerInfo{FullMethod: unaryMethod}
	sinkResp, sinkErr = icpt(ctx, req, info, handler)
	assert.Zero(t, testing.AllocsPerRun(1000, func() { sinkResp, sinkErr = icpt(ctx, req, info, handler) }))
}
