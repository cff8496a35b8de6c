package interceptor_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// ayTenantKey is the context key of the tenant in the allocation tests.
type ayTenantKey struct{}

// ayTenant returns the call's tenant: from a context value (a []string,
// returned as it is, so that it allocates nothing), else from the incoming
// metadata (on a server), else from the outgoing metadata (on a client).
func ayTenant(ctx context.Context) []string {
	if v, ok := ctx.Value(ayTenantKey{}).([]string); ok {
		return v
	}
	if v := metadata.ValueFromIncomingContext(ctx, "tenant"); len(v) > 0 {
		return []string{v[0]}
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		if v := md.Get("tenant"); len(v) > 0 {
			return []string{v[0]}
		}
	}
	return []string{""}
}

// ayTenantCall makes a unary call with tenant in its outgoing metadata.
func ayTenantCall(t *testing.T, client testpb.TestServiceClient, tenant string) {
	ctx := metadata.AppendToOutgoingContext(t.Context(), "tenant", tenant)
	_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.NoError(t, err)
}

// TestA66ContextLabelsFloodStaysBounded floods an A66 whose tenant label
// keeps 8 tuples with 2,000 distinct tenants over bufconn, and checks the
// series on both sides, the exact counts, the overflow counter, the kept
// gauge and removal.
func TestA66ContextLabelsFloodStaysBounded(t *testing.T) {
	const limit, flood = 8, 2_000
	a, err := interceptor.LegacyA66(interceptor.WithInFlight(), interceptor.WithContextLabels(interceptor.ContextLabels{
		Names: []string{"tenant"}, Values: ayTenant, Limit: limit,
	}))
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, a.Register(reg))
	conn := ayStart(t, cxService{}, a)
	client := testpb.NewTestServiceClient(conn)

	for i := range limit {
		for range 2 {
			ayTenantCall(t, client, fmt.Sprint("t", i))
		}
	}
	for i := range flood {
		ayTenantCall(t, client, fmt.Sprint("flood", i))
	}
	srvStarted := axCounts(t, reg, "grpc_server_call_started_total")
	require.Len(t, srvStarted, limit+1)
	for i := range limit {
		assert.Equal(t, 2.0, srvStarted[fmt.Sprintf("grpc_method=grpc.testing.TestService/UnaryCall|tenant=t%d", i)], i)
	}
	assert.Equal(t, float64(flood), srvStarted["grpc_method=grpc.testing.TestService/UnaryCall|tenant=overflow"])
	cli := axCounts(t, reg, "grpc_client_call_duration_seconds")
	require.Len(t, cli, limit+1)
	assert.Equal(t, float64(flood), cli["grpc_method=grpc.testing.TestService/UnaryCall|grpc_status=OK|grpc_target=passthrough:///bufconn|tenant=overflow"])
	for _, name := range []string{"grpc_server_call_duration_seconds", "grpc_client_attempt_started_total", "grpc_server_call_in_flight", "grpc_client_call_in_flight"} {
		_, n := cxSum(t, reg, name)
		assert.Equal(t, limit+1, n, name)
	}
	overflow, _ := cxSum(t, reg, "grpcmetrics_a66_context_labels_overflow_total")
	assert.Equal(t, float64(2*flood), overflow, "each flooding call overflows once per side")
	kept, _ := cxSum(t, reg, "grpcmetrics_a66_context_labels_kept")
	assert.Equal(t, float64(limit), kept)

	t.Run("removal", func(t *testing.T) {
		assert.False(t, a.RemoveContextLabels(interceptor.ContextLabelOverflow), "the overflow tuple")
		assert.False(t, a.RemoveContextLabels("flood1"), "a tuple never kept")
		assert.False(t, a.RemoveContextLabels("t0", "x"), "a tuple of another length")
		require.True(t, a.RemoveContextLabels("t0"))
		assert.NotContains(t, axCounts(t, reg, "grpc_server_call_started_total"), "grpc_method=grpc.testing.TestService/UnaryCall|tenant=t0")
		for _, name := range []string{"grpc_server_call_duration_seconds", "grpc_client_call_duration_seconds", "grpc_client_attempt_started_total", "grpc_server_call_in_flight"} {
			_, n := cxSum(t, reg, name)
			assert.Equal(t, limit, n, name)
		}
		kept, _ := cxSum(t, reg, "grpcmetrics_a66_context_labels_kept")
		assert.Equal(t, float64(limit-1), kept)
		ayTenantCall(t, client, "new")
		assert.Equal(t, 1.0, axCounts(t, reg, "grpc_server_call_started_total")["grpc_method=grpc.testing.TestService/UnaryCall|tenant=new"])
		kept, _ = cxSum(t, reg, "grpcmetrics_a66_context_labels_kept")
		assert.Equal(t, float64(limit), kept)
	})
}

// TestNewA66RefusesContextLabelsNamedAsItsOwn checks that a context label
// may not take a name of A66's own labels, nor an invalid one.
func TestNewA66RefusesContextLabelsNamedAsItsOwn(t *testing.T) {
	for _, name := range []string{"grpc_method", "grpc_status", "grpc_target", "bad-name", "__x"} {
		t.Run(name, func(t *testing.T) {
			_, err := interceptor.LegacyA66(interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{name}, Values: ayTenant}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), name)
		})
	}
}

// TestA66ContextLabelsServerCallAllocatesOnce checks that with a context
// label and the in-flight gauge on, a server call of a kept tuple still
// allocates once (its context node), and counts under its tuple.
func TestA66ContextLabelsServerCallAllocatesOnce(t *testing.T) {
	a, err := interceptor.LegacyA66(interceptor.WithInFlight(), interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: ayTenant}))
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	require.NoError(t, a.Register(reg))
	gs := grpc.NewServer()
	testpb.RegisterTestServiceServer(gs, axService{})
	require.NoError(t, a.Init(gs))
	h := a.ServerStatsHandler()
	ctx := context.WithValue(context.Background(), ayTenantKey{}, []string{"acme"})
	info := &stats.RPCTagInfo{FullMethodName: axUnary}
	events := []stats.RPCStats{
		&stats.InHeader{FullMethod: axUnary}, &stats.Begin{},
		&stats.InPayload{CompressedLength: 10}, &stats.OutHeader{},
		&stats.OutPayload{CompressedLength: 20}, &stats.OutTrailer{}, &stats.End{},
	}
	call := func() {
		c := h.TagRPC(ctx, info)
		for _, ev := range events {
			h.HandleRPC(c, ev)
		}
	}
	call() // warm: admits the tuple and resolves its series
	assert.Equal(t, 1.0, testing.AllocsPerRun(200, call))
	assert.Equal(t, map[string]float64{"grpc_method=grpc.testing.TestService/UnaryCall|tenant=acme": 202},
		axCounts(t, reg, "grpc_server_call_started_total"))
}

// TestA66ContextLabelsClientAllocations checks, over bufconn, that a
// context label and the in-flight gauge cost a client call of a kept
// tuple no allocation beyond A66 without them.
func TestA66ContextLabelsClientAllocations(t *testing.T) {
	if axRace {
		t.Skip("the race detector moves allocation counts over bufconn; run without -race")
	}
	plain, err := interceptor.LegacyA66()
	require.NoError(t, err)
	withLabels, err := interceptor.LegacyA66(interceptor.WithInFlight(), interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: ayTenant}))
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	require.NoError(t, withLabels.Register(reg))
	allocs := func(a *interceptor.A66) float64 {
		cc, stop := axServe(t, nil, a.DialOptions(), nil)
		defer stop()
		client := testpb.NewTestServiceClient(cc)
		ctx := context.WithValue(context.Background(), ayTenantKey{}, []string{"acme"})
		req := &testpb.SimpleRequest{ResponseSize: 10}
		failed := false
		call := func() {
			_, err := client.UnaryCall(ctx, req)
			failed = failed || err != nil
		}
		for range 20 {
			call()
		}
		n := testing.AllocsPerRun(axAllocRuns, call)
		require.False(t, failed)
		return n
	}
	p, l := allocs(plain), allocs(withLabels)
	t.Logf("client allocs per call: A66 %v, with a context label and in-flight %v", p, l)
	assert.LessOrEqual(t, l, p)
	assert.Equal(t, float64(axAllocRuns+21), axCounts(t, reg, "grpc_client_call_duration_seconds")["grpc_method=grpc.testing.TestService/UnaryCall|grpc_status=OK|grpc_target=passthrough:///bufnet|tenant=acme"])
}
