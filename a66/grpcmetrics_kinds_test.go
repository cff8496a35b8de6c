package a66

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	estats "google.golang.org/grpc/experimental/stats"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/test/bufconn"
)

// Metrics of every kind grpc-go's registry has, registered as grpc-go's
// packages register theirs (at init), with units the exporter turns into
// suffixes or drops: what the xDS client, RLS and weighted round robin
// record cannot be reached from this test, and the recorder treats every
// metric by its descriptor alone, so these stand for them.
var (
	arKPicks = estats.RegisterInt64Count(estats.MetricDescriptor{
		Name: "grpcmetrics.a66test.picks", Description: "Picks, as a policy counts them.", Unit: "{pick}",
		Labels: []string{"grpc.target", "grpc.lb.pick_result"}, OptionalLabels: []string{"grpcmetrics.test.zone", "grpcmetrics.test.unnamed"},
	})
	arKBusy = estats.RegisterFloat64Count(estats.MetricDescriptor{
		Name: "grpcmetrics.a66test.busy", Description: "Time busy.", Unit: "s", Labels: []string{"grpc.target"},
	})
	arKPayload = estats.RegisterInt64Histo(estats.MetricDescriptor{
		Name: "grpcmetrics.a66test.payload", Description: "Payload sizes.", Unit: "By", Labels: []string{"grpc.target"},
		Bounds: []float64{0, 1024, 4096},
	})
	arKWeights = estats.RegisterFloat64Histo(estats.MetricDescriptor{
		Name: "grpcmetrics.a66test.weights", Description: "Weights, without bounds of their own.", Unit: "{endpoint}",
		Labels: []string{"grpc.target"},
	})
	arKShare = estats.RegisterInt64Gauge(estats.MetricDescriptor{
		Name: "grpcmetrics.a66test.share", Description: "A share.", Unit: "1", Labels: []string{"grpc.target"},
	})
	arKStreams = estats.RegisterInt64UpDownCount(estats.MetricDescriptor{
		Name: "grpcmetrics.a66test.streams", Description: "Streams open.", Unit: "{stream}", Labels: []string{"grpc.target"},
	})
	arKCache = estats.RegisterInt64AsyncGauge(estats.MetricDescriptor{
		Name: "grpcmetrics.a66test.cache_size", Description: "Cache size, reported when asked.", Unit: "By",
		Labels: []string{"grpc.target", "grpcmetrics.test.shard"},
	})
)

// arKNames are the test's metrics.
var arKNames = []string{
	"grpcmetrics.a66test.picks", "grpcmetrics.a66test.busy", "grpcmetrics.a66test.payload",
	"grpcmetrics.a66test.weights", "grpcmetrics.a66test.share", "grpcmetrics.a66test.streams",
	"grpcmetrics.a66test.cache_size",
}

// arRecorderOf serves arService over bufconn and connects to it with
// dopts through the capture policy; it returns the channel's metrics
// recorder, once the connection is ready (and quiet).
func arRecorderOf(tb testing.TB, dopts []grpc.DialOption) estats.MetricsRecorder {
	tb.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	testpb.RegisterTestServiceServer(srv, &arService{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	ch := make(chan estats.MetricsRecorder, 1)
	r := manual.NewBuilderWithScheme("arcapture")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: "bufnet"}}, Attributes: arCaptureAttrs(ch)})
	conn, err := grpc.NewClient("arcapture:///bufnet", append([]grpc.DialOption{
		grpc.WithResolvers(r),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig": [{"` + arCaptureName + `": {}}]}`),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, dopts...)...)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		require.NoError(tb, conn.Close())
		srv.Stop()
		require.NoError(tb, <-served)
	})
	conn.Connect()
	rec := <-ch
	ctx := context.Background()
	for s := conn.GetState(); s != connectivity.Ready; s = conn.GetState() {
		require.True(tb, conn.WaitForStateChange(ctx, s))
	}
	return rec
}

// TestArRecorderKindsEqualToPlugin records metrics of every kind, one
// optional label named and one not, through the recorder grpc-go hands
// a load balancing policy of a channel where the plugin and ours are both
// installed, and requires the two expositions to be equal: names (unit
// suffixes, _total, _ratio), types, help, labels, values, histogram
// bounds (the descriptor's, or the SDK's defaults), and the async gauge's
// values, asked for on each scrape, until its reporter is unregistered.
func TestArRecorderKindsEqualToPlugin(t *testing.T) {
	b := newArGRPCBoth(t, arKNames, []string{"grpcmetrics.test.zone"})
	rec := arRecorderOf(t, b.dialOptions())
	const t1, t2 = "dns:///a.example:443", "dns:///b.example:443"
	arKPicks.Record(rec, 1, t1, "complete", "zone-a", "x")
	arKPicks.Record(rec, 2, t1, "complete", "zone-a", "y") // the unnamed label is not written: one series
	arKPicks.Record(rec, 1, t1, "drop", "zone-b", "x")
	arKPicks.Record(rec, 5, t2, "queue", "", "")
	arKBusy.Record(rec, 0.25, t1)
	arKBusy.Record(rec, 1.5, t1)
	for _, v := range []int64{0, 1, 1024, 1025, 5000, 100000} {
		arKPayload.Record(rec, v, t1)
	}
	for _, v := range []float64{0.5, 3, 7, 80, 20000} {
		arKWeights.Record(rec, v, t2)
	}
	arKShare.Record(rec, 3, t1)
	arKShare.Record(rec, 2, t1) // the last value
	arKStreams.Record(rec, 3, t1)
	arKStreams.Record(rec, -1, t1)
	arKStreams.Record(rec, 1, t2)
	arKStreams.Record(rec, -1, t2)
	unregister := rec.RegisterAsyncReporter(estats.AsyncMetricReporterFunc(func(ar estats.AsyncMetricsRecorder) error {
		arKCache.Record(ar, 4096, t1, "0")
		arKCache.Record(ar, 512, t1, "1")
		return nil
	}), arKCache)

	diffs, compared := b.diff(t, "grpcmetrics_a66test_")
	require.Empty(t, diffs, "the expositions differ")
	require.Equal(t, []string{
		"grpcmetrics_a66test_busy_seconds_total",
		"grpcmetrics_a66test_cache_size_bytes",
		"grpcmetrics_a66test_payload_bytes",
		"grpcmetrics_a66test_picks_total",
		"grpcmetrics_a66test_share_ratio",
		"grpcmetrics_a66test_streams",
		"grpcmetrics_a66test_weights",
	}, arFamilyNames(arGather(t, b.reg), "grpcmetrics_a66test_"))
	require.Equal(t, 11, compared)

	unregister()
	diffs, compared = b.diff(t, "grpcmetrics_a66test_")
	require.Empty(t, diffs, "after the reporter is unregistered, the expositions differ")
	require.Equal(t, 9, compared, "the async gauge has no series left")
}
