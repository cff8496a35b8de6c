package interceptor_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// cvValues are the context label values of the tests, by the call's
// "case" metadata: a Values function that panics, gives the wrong number
// of values, or values that need repairing or cutting.
var cvValues = map[string][]string{
	"ok":       {"ok"},
	"run":      {"a\xff\xfe\xfdb"},         // one run of three invalid bytes
	"two runs": {"\xffx\xc0"},              // two runs, one byte each
	"long":     {strings.Repeat("é", 200)}, // 400 bytes, cut on a rune boundary
	// Repaired first (1,600 bytes), then cut: 63 pairs and one U+FFFD.
	"long invalid": {strings.Repeat("\xffA", 400)},
	"two":          {"a", "b"},
	"none":         nil,
}

// cvWant are the label values that cvValues must give.
var cvWant = map[string]string{
	"ok":           "ok",
	"run":          "a\uFFFDb",
	"two runs":     "\uFFFDx\uFFFD",
	"long":         strings.Repeat("é", 127),
	"long invalid": strings.Repeat("\uFFFDA", 63) + "\uFFFD",
}

// cvCaseOf returns the call's "case" metadata, incoming or outgoing.
func cvCaseOf(ctx context.Context) string {
	if v := metadata.ValueFromIncomingContext(ctx, "case"); len(v) > 0 {
		return v[0]
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	if v := md.Get("case"); len(v) > 0 {
		return v[0]
	}
	return ""
}

func cvValuesOf(ctx context.Context) []string {
	c := cvCaseOf(ctx)
	if c == "panic" {
		panic("cv values panic")
	}
	if v, ok := cvValues[c]; ok {
		return v
	}
	return []string{c}
}

// cvCases are the calls the tests make, in order: each case of cvValues,
// a panic, and with a limit of 5 one tuple more than fits.
var cvCases = []string{"ok", "run", "two runs", "long", "long invalid", "two", "none", "panic", "beyond", "ok", "panic"}

// cvOverflowCalls is the number of cvCases counted under the overflow
// tuple: two wrong lengths, two panics, and the tuple beyond the limit.
const cvOverflowCalls = 5

func cvCall(t *testing.T, client testpb.TestServiceClient, c string) {
	t.Helper()
	_, err := client.UnaryCall(metadata.AppendToOutgoingContext(t.Context(), "case", c), &testpb.SimpleRequest{})
	require.NoError(t, err, c)
}

// cvCheck checks family name's counts by tenant against the cases made,
// and that the overflow counter counts what the overflow series hold.
func cvCheck(t *testing.T, reg prometheus.Gatherer, name, overflowCounter string, perSide float64) {
	t.Helper()
	want := map[string]float64{interceptor.ContextLabelOverflow: cvOverflowCalls}
	for _, v := range cvWant {
		want[v] = 1
	}
	want["ok"] = 2
	got, _ := clrTuples(t, reg, name, "tenant")
	assert.Equal(t, want, got, name)
	for v := range got {
		assert.True(t, utf8.ValidString(v), "%q", v)
		assert.LessOrEqual(t, len(v), interceptor.MaxContextLabelLength, "%q", v)
	}
	over, _ := cxSum(t, reg, overflowCounter)
	assert.Equal(t, perSide*got[interceptor.ContextLabelOverflow], over, "%s against %s", overflowCounter, name)
}

// TestCxContextLabelValuesRepaired checks that the provider's families of
// both sides repair each run of invalid UTF-8 in a value to one U+FFFD
// and then cut it to MaxContextLabelLength bytes on a rune boundary, and
// that every call counted under the overflow tuple (a panic, a wrong
// length, no room) is counted in the overflow counter.
func TestCxContextLabelValuesRepaired(t *testing.T) {
	cl := interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: cvValuesOf, Limit: 5})
	sm, err := interceptor.LegacyServerMetrics(cl)
	require.NoError(t, err)
	cm, err := interceptor.LegacyClientMetrics(cl)
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, sm.Register(reg))
	require.NoError(t, cm.Register(reg))
	client := clrServe(t, clrService{hook: func(string) {}},
		[]grpc.ServerOption{grpc.ChainUnaryInterceptor(sm.UnaryServerInterceptor())},
		[]grpc.DialOption{grpc.WithChainUnaryInterceptor(cm.UnaryClientInterceptor())},
		func(s *grpc.Server) { require.NoError(t, sm.Init(s)) })
	for _, c := range cvCases {
		cvCall(t, client, c)
	}
	for _, side := range []string{"server", "client"} {
		for _, fam := range []string{"started_total", "handled_total"} {
			cvCheck(t, reg, "grpc_"+side+"_"+fam, "grpcmetrics_"+side+"_context_labels_overflow_total", 1)
		}
	}

	// Removal takes the values as Values gives them or as the labels
	// show them.
	assert.True(t, sm.RemoveContextLabels("a\xff\xfe\xfdb"), "as given")
	assert.True(t, cm.RemoveContextLabels("a\uFFFDb"), "as labelled")
	assert.True(t, sm.RemoveContextLabels(strings.Repeat("\xffA", 400)), "as given, cut")
	for _, side := range []string{"server", "client"} {
		got, _ := clrTuples(t, reg, "grpc_"+side+"_handled_total", "tenant")
		assert.NotContains(t, got, "a\uFFFDb", side)
	}
}

// TestA66ContextLabelValuesRepaired is TestCxContextLabelValuesRepaired
// for an A66: both sides, one set of tuples, the overflow counter moved
// once per side.
func TestA66ContextLabelValuesRepaired(t *testing.T) {
	a, err := interceptor.LegacyA66(interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: cvValuesOf, Limit: 5}))
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, a.Register(reg))
	client := clrServe(t, clrService{hook: func(string) {}}, []grpc.ServerOption{grpc.StatsHandler(a.ServerStatsHandler())}, a.DialOptions(),
		func(s *grpc.Server) { require.NoError(t, a.Init(s)) })
	for _, c := range cvCases {
		cvCall(t, client, c)
	}
	for _, name := range []string{"grpc_server_call_started_total", "grpc_server_call_duration_seconds", "grpc_client_attempt_started_total", "grpc_client_call_duration_seconds"} {
		cvCheck(t, reg, name, "grpcmetrics_a66_context_labels_overflow_total", 2)
	}
	assert.True(t, a.RemoveContextLabels("\xffx\xc0"), "as given")
	got, _ := clrTuples(t, reg, "grpc_server_call_started_total", "tenant")
	assert.NotContains(t, got, "\uFFFDx\uFFFD")
}

// TestCxContextLabelsCutAllocatesNothing checks that a valid value longer
// than MaxContextLabelLength, which is cut, costs a call of its kept
// tuple no allocation.
func TestCxContextLabelsCutAllocatesNothing(t *testing.T) {
	vals := []string{strings.Repeat("x", 1000)}
	sm, err := interceptor.LegacyServerMetrics(interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: func(context.Context) []string { return vals }}))
	require.NoError(t, err)
	require.NoError(t, sm.Init(fakeServer{"a.S": {Methods: []grpc.MethodInfo{{Name: "M"}}}}))
	srv := sm.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/a.S/M"}
	handler := returns(&response{Status: &status{}}, nil)
	ctx := context.Background()
	_, _ = srv(ctx, nil, info, handler) //nolint:errcheck // warm
	assert.Zero(t, testing.AllocsPerRun(200, func() {
		_, _ = srv(ctx, nil, info, handler) //nolint:errcheck // measured
	}))
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, sm.Register(reg))
	got, _ := clrTuples(t, reg, "grpc_server_started_total", "tenant")
	assert.Equal(t, map[string]float64{strings.Repeat("x", interceptor.MaxContextLabelLength): 202}, got, "the warm call, AllocsPerRun's own and its 200")
}
