package interceptor_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// cxTenant is the context labels' function of the tests: the value of the
// "tenant" metadata key, incoming on a server, outgoing on a client.
func cxTenant(ctx context.Context) []string {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		md, _ = metadata.FromOutgoingContext(ctx)
	}
	if v := md.Get("tenant"); len(v) > 0 {
		return []string{v[0]}
	}
	return []string{""}
}

func cxWithTenant(ctx context.Context, tenant string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "tenant", tenant)
}

// cxByLabel returns family name's values in reg by the value of label.
func cxByLabel(t testing.TB, reg prometheus.Gatherer, name, label string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := make(map[string]float64)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					out[lp.GetValue()] += m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}

// TestCxContextLabels checks the labels from the context on both sides:
// the limit, the overflow value and counter, the kept gauge, and removal.
func TestCxContextLabels(t *testing.T) {
	cl := interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: cxTenant, Limit: 2})
	sm, err := interceptor.LegacyServerMetrics(cl, interceptor.WithInFlight())
	require.NoError(t, err)
	cm, err := interceptor.LegacyClientMetrics(cl)
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, sm.Register(reg))
	require.NoError(t, cm.Register(reg))
	st := cxStart(t, cxService{}, sm, cm)
	call := func(tenant string) {
		_, err := st.client.UnaryCall(cxWithTenant(t.Context(), tenant), &testpb.SimpleRequest{})
		require.NoError(t, err)
	}
	for _, tenant := range []string{"a", "b", "a", "c", "d", "a"} {
		call(tenant)
	}
	for _, side := range []string{"server", "client"} {
		assert.Equal(t, map[string]float64{"a": 3, "b": 1, "overflow": 2}, cxByLabel(t, reg, "grpc_"+side+"_handled_total", "tenant"), side)
		over, _ := cxSum(t, reg, "grpcmetrics_"+side+"_context_labels_overflow_total")
		assert.Equal(t, 2.0, over, side)
		kept, _ := cxSum(t, reg, "grpcmetrics_"+side+"_context_labels_kept")
		assert.Equal(t, 2.0, kept, side)
	}
	assert.Equal(t, map[string]float64{"a": 0, "b": 0, "overflow": 0}, cxByLabel(t, reg, "grpc_server_in_flight", "tenant"))

	assert.True(t, sm.RemoveContextLabels("b"))
	assert.False(t, sm.RemoveContextLabels("b"), "removed twice")
	assert.False(t, sm.RemoveContextLabels("overflow"), "the overflow tuple")
	assert.False(t, sm.RemoveContextLabels("a", "x"), "wrong length")
	assert.True(t, cm.RemoveContextLabels("b"))
	call("c")
	for _, side := range []string{"server", "client"} {
		assert.Equal(t, map[string]float64{"a": 3, "c": 1, "overflow": 2}, cxByLabel(t, reg, "grpc_"+side+"_handled_total", "tenant"), side)
	}
	plain, err := interceptor.LegacyServerMetrics()
	require.NoError(t, err)
	assert.False(t, plain.RemoveContextLabels("a"), "no context labels")
}

// TestCxContextLabelsBadValues checks that a Values function that panics
// or gives the wrong number of values counts the call under the overflow
// value and in the overflow counter, that a value that is not UTF-8 is
// repaired, and that none fails the call.
func TestCxContextLabelsBadValues(t *testing.T) {
	values := func(ctx context.Context) []string {
		switch v := cxTenant(ctx)[0]; v {
		case "panic":
			panic("cx values panic")
		case "two":
			return []string{"a", "b"}
		case "bad":
			return []string{"\xff"}
		default:
			return []string{v}
		}
	}
	sm, err := interceptor.LegacyServerMetrics(interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: values}))
	require.NoError(t, err)
	cm, err := interceptor.LegacyClientMetrics(interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: values}))
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, sm.Register(reg))
	require.NoError(t, cm.Register(reg))
	st := cxStart(t, cxService{}, sm, cm)
	for _, tenant := range []string{"panic", "two", "bad", "ok"} {
		_, err := st.client.UnaryCall(cxWithTenant(t.Context(), tenant), &testpb.SimpleRequest{})
		require.NoError(t, err, "%q", tenant)
	}
	for _, side := range []string{"server", "client"} {
		assert.Equal(t, map[string]float64{"ok": 1, "\uFFFD": 1, "overflow": 2}, cxByLabel(t, reg, "grpc_"+side+"_started_total", "tenant"), side)
		over, _ := cxSum(t, reg, "grpcmetrics_"+side+"_context_labels_overflow_total")
		assert.Equal(t, 2.0, over, side)
	}
}

// TestCxContextLabelsInvalid checks the constructors' errors.
func TestCxContextLabelsInvalid(t *testing.T) {
	tests := []struct {
		name string
		cl   interceptor.ContextLabels
		want string
	}{
		{"no names", interceptor.ContextLabels{Values: cxTenant}, "no Names"},
		{"too many", interceptor.ContextLabels{Names: []string{"a", "b", "c", "d", "e"}, Values: cxTenant}, "more than MaxContextLabels"},
		{"invalid", interceptor.ContextLabels{Names: []string{"a-b"}, Values: cxTenant}, `"a-b" is not a valid label name`},
		{"reserved", interceptor.ContextLabels{Names: []string{"grpc_code"}, Values: cxTenant}, `"grpc_code" is reserved`},
		{"dunder", interceptor.ContextLabels{Names: []string{"__x"}, Values: cxTenant}, `"__x" is reserved`},
		{"twice", interceptor.ContextLabels{Names: []string{"a", "a"}, Values: cxTenant}, `"a" is given twice`},
		{"nil values", interceptor.ContextLabels{Names: []string{"a"}}, "Values is nil"},
		{"negative limit", interceptor.ContextLabels{Names: []string{"a"}, Values: cxTenant, Limit: -1}, "Limit -1 is out of range"},
		{"huge limit", interceptor.ContextLabels{Names: []string{"a"}, Values: cxTenant, Limit: interceptor.MaxContextLabelLimit + 1}, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := interceptor.LegacyServerMetrics(interceptor.WithContextLabels(tt.cl))
			require.ErrorContains(t, err, tt.want)
			_, err = interceptor.LegacyClientMetrics(interceptor.WithContextLabels(tt.cl))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestCxContextLabelsAllocateNothing checks the warm unary paths with a
// context label on for zero allocations, the Values function's aside
// (it returns a slice made beforehand).
func TestCxContextLabelsAllocateNothing(t *testing.T) {
	vals := []string{"tenant-a", "gold"}
	cl := interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant", "class"}, Values: func(context.Context) []string { return vals }})
	sm, err := interceptor.LegacyServerMetrics(cl, interceptor.WithInFlight(), interceptor.WithHistogram(interceptor.Histogram{}), interceptor.LegacyCodeOnHistogram())
	require.NoError(t, err)
	require.NoError(t, sm.Init(fakeServer{"a.S": {Methods: []grpc.MethodInfo{{Name: "M"}}}}))
	cm, err := interceptor.LegacyClientMetrics(cl, interceptor.WithInFlight())
	require.NoError(t, err)
	ctx := context.Background()
	resp := &response{Status: &status{}}

	srv := sm.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/a.S/M"}
	handler := returns(resp, nil)
	_, _ = srv(ctx, nil, info, handler) //nolint:errcheck // warm
	assert.Zero(t, testing.AllocsPerRun(200, func() {
		_, _ = srv(ctx, nil, info, handler) //nolint:errcheck // measured
	}), "server")

	cli := cm.UnaryClientInterceptor()
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	_ = cli(ctx, "/a.S/M", nil, resp, nil, invoker) //nolint:errcheck // warm
	assert.Zero(t, testing.AllocsPerRun(200, func() {
		_ = cli(ctx, "/a.S/M", nil, resp, nil, invoker) //nolint:errcheck // measured
	}), "client")
}

// cxFloodSize is the number of distinct tenants of the flood test:
// GRPCMETRICS_FLOOD if set, 1,000,000 with GRPCMETRICS_SOAK=1, else
// 20,000.
func cxFloodSize(t *testing.T) int {
	if s := os.Getenv("GRPCMETRICS_FLOOD"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "GRPCMETRICS_FLOOD")
		return n
	}
	if os.Getenv("GRPCMETRICS_SOAK") == "1" {
		return 1_000_000
	}
	return 20_000
}

// TestCxContextLabelsFlood sends calls with distinct tenant values over
// bufconn, each tenant once, and checks that the series stay within the
// bound (Limit + 1 tuples per method and label values), that every call
// is counted exactly, and that the heap does not grow with the number of
// tenants.
func TestCxContextLabelsFlood(t *testing.T) {
	n := cxFloodSize(t)
	const limit, workers = 100, 8
	sm, err := interceptor.LegacyServerMetrics(interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: cxTenant, Limit: limit}), interceptor.WithInFlight())
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, sm.Register(reg))
	st := cxStart(t, cxService{}, sm, nil)
	run := func(from, to int) {
		var wg sync.WaitGroup
		next := make(chan int, workers)
		for range workers {
			wg.Go(func() {
				for i := range next {
					if _, err := st.client.UnaryCall(cxWithTenant(t.Context(), "tenant-"+strconv.Itoa(i)), &testpb.SimpleRequest{}); err != nil {
						t.Errorf("call %d: %v", i, err)
					}
				}
			})
		}
		for i := from; i < to; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	warm := min(n, 2*limit)
	run(0, warm) // the kept tuples fill up; the connection warms
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	run(warm, n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d tenants: heap %d KiB before, %d KiB after, growth %d KiB", n, before.HeapAlloc>>10, after.HeapAlloc>>10, growth>>10)

	started, series := cxSum(t, reg, "grpc_server_started_total")
	assert.Equal(t, float64(n), started, "started")
	assert.LessOrEqual(t, series, limit+1, "started series")
	handled, series := cxSum(t, reg, "grpc_server_handled_total")
	assert.Equal(t, float64(n), handled, "handled")
	assert.LessOrEqual(t, series, limit+1, "handled series (one code)")
	byTenant := cxByLabel(t, reg, "grpc_server_handled_total", "tenant")
	over, _ := cxSum(t, reg, "grpcmetrics_server_context_labels_overflow_total")
	if n > limit {
		assert.Equal(t, float64(n-limit), byTenant["overflow"], "counted under overflow")
		assert.Equal(t, float64(n-limit), over, "overflow_total")
	}
	kept, _ := cxSum(t, reg, "grpcmetrics_server_context_labels_kept")
	assert.Equal(t, float64(min(n, limit)), kept, "kept")
	inFlight, _ := cxSum(t, reg, "grpc_server_in_flight")
	assert.Zero(t, inFlight, "in flight")
	assert.Less(t, growth, int64(8<<20), fmt.Sprintf("heap growth over %d tenants", n))
}

// TestCxServerInstall checks that the provider's options work when its set
// is counted by a Server with another set: the in-flight gauge and the
// context labels, beside the install's histogram with the code.
func TestCxServerInstall(t *testing.T) {
	sm, err := interceptor.LegacyServerMetrics(interceptor.WithInFlight(),
		interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: cxTenant}))
	require.NoError(t, err)
	a66, err := interceptor.LegacyA66()
	require.NoError(t, err)
	install, err := interceptor.NewServer(interceptor.ServerSets{Provider: sm, A66: a66},
		interceptor.WithHistogram(interceptor.Histogram{}), interceptor.LegacyCodeOnHistogram())
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, install.Register(reg))
	srv := grpc.NewServer(install.ServerOptions()...)
	testpb.RegisterTestServiceServer(srv, cxService{})
	require.NoError(t, sm.Init(srv))
	require.NoError(t, a66.Init(srv))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }() //nolint:errcheck // Stop ends it
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close()) })
	client := testpb.NewTestServiceClient(conn)
	for _, tenant := range []string{"a", "b", "a"} {
		_, err := client.UnaryCall(cxWithTenant(t.Context(), tenant), &testpb.SimpleRequest{})
		require.NoError(t, err)
	}
	assert.Equal(t, map[string]float64{"a": 2, "b": 1}, cxByLabel(t, reg, "grpc_server_handled_total", "tenant"))
	assert.Equal(t, map[string]float64{"a": 0, "b": 0}, cxByLabel(t, reg, "grpc_server_in_flight", "tenant"))
	assert.Equal(t, map[string]uint64{"OK": 3}, cxHistogramCodes(t, reg, "grpc_server_handling_seconds"))
}
