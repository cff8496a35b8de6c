package a66

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	estats "google.golang.org/grpc/experimental/stats"
	"google.golang.org/grpc/stats"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// arNoopRecorder is a stats handler that is a metrics recorder doing
// nothing: the cost of grpc-go's recorder list itself.
type arNoopRecorder struct {
	arNoop
	estats.UnimplementedMetricsRecorder
}

// arRecorderInstalls are the recorders compared, each alone on a channel
// with the four subchannel metrics on: a recorder that does nothing,
// grpc-go's plugin, and ours.
func arRecorderInstalls() []struct {
	name string
	dial func(testing.TB) []grpc.DialOption
} {
	names := []string{arSucceeded, arFailed, arDisconnections, arOpen}
	return []struct {
		name string
		dial func(testing.TB) []grpc.DialOption
	}{
		{"noop", func(testing.TB) []grpc.DialOption {
			return []grpc.DialOption{grpc.WithStatsHandler(&arNoopRecorder{})}
		}},
		{"plugin", func(tb testing.TB) []grpc.DialOption {
			return []grpc.DialOption{newArGRPCBoth(tb, names, nil).pdial}
		}},
		{"ours", func(tb testing.TB) []grpc.DialOption {
			a, err := interceptor.NewA66(interceptor.WithGRPCMetrics(interceptor.GRPCMetrics{Metrics: stats.NewMetricSet(names...)}))
			require.NoError(tb, err)
			client, err := interceptor.NewClientInstall(interceptor.ClientSets{A66: a})
			require.NoError(tb, err)
			require.NoError(tb, client.Register(prometheus.NewRegistry()))
			return client.DialOptions()
		}},
	}
}

// arConnEvents are what grpc-go records, through a channel's recorder,
// on a connection's events (clientconn.go): a value, a connection made
// (an attempt succeeded, a connection open) and a connection lost (a
// disconnection, a connection closed), on one target's series.
func arConnEvents() []struct {
	name   string
	record func(estats.MetricsRecorder)
} {
	const target = "dns:///milvus-proxy:19530"
	succeeded := (*estats.Int64CountHandle)(estats.DescriptorForMetric(arSucceeded))
	disconnections := (*estats.Int64CountHandle)(estats.DescriptorForMetric(arDisconnections))
	open := (*estats.Int64UpDownCountHandle)(estats.DescriptorForMetric(arOpen))
	return []struct {
		name   string
		record func(estats.MetricsRecorder)
	}{
		{"value", func(r estats.MetricsRecorder) { succeeded.Record(r, 1, target, "", "") }},
		{"connect", func(r estats.MetricsRecorder) {
			succeeded.Record(r, 1, target, "", "")
			open.Record(r, 1, target, "", "NoSecurity", "")
		}},
		{"disconnect", func(r estats.MetricsRecorder) {
			disconnections.Record(r, 1, target, "", "", "GOAWAY NO_ERROR")
			open.Record(r, -1, target, "", "NoSecurity", "")
		}},
	}
}

// BenchmarkArGRPCMetricsCost measures, in one run, what each recorder
// costs when grpc-go records one value, a connection made and a
// connection lost: through the recorder list grpc-go hands a channel's
// policies, as clientconn.go records them, on a series that exists. The
// allocations beyond the no-op recorder's are the recorder's own.
func BenchmarkArGRPCMetricsCost(b *testing.B) {
	for _, in := range arRecorderInstalls() {
		for _, ev := range arConnEvents() {
			b.Run("install="+in.name+"/"+ev.name, func(b *testing.B) {
				rec := arRecorderOf(b, in.dial(b))
				ev.record(rec) // the series exist before the measure
				b.ReportAllocs()
				for b.Loop() {
					ev.record(rec)
				}
			})
		}
	}
}
