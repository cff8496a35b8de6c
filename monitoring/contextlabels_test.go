package monitoring_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/datanode"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
	"github.com/grpcmetrics/grpcmetrics/monitoring/mixin"
)

// dmTenantLimit is the number of tenants the context-label stack keeps:
// fewer than the tenants its traffic names (dmTenant), so that the
// overflow value shows too.
const dmTenantLimit = 2

// dmTenant is the context label of the context-label stack: one of three
// tenants, by the length of the call's method.
func dmTenant(ctx context.Context) []string {
	m, _ := grpc.Method(ctx)
	return []string{fmt.Sprintf("tenant_%d", len(m)%3)}
}

// dmNewA66ContextLabelStack is dmNewContextLabelStack's server counted by
// gRPC's own metrics (A66) with the context label "tenant", bounded to
// dmTenantLimit.
func dmNewA66ContextLabelStack(t *testing.T) *stack {
	t.Helper()
	reg := prometheus.NewRegistry()
	// A66 reads the labels when the call's header arrives, before grpc-go
	// has put the method in the context: the tenants take turns instead.
	var calls atomic.Uint64
	tenants := [3][]string{{"tenant_0"}, {"tenant_1"}, {"tenant_2"}}
	turn := func(context.Context) []string { return tenants[calls.Add(1)%3] }
	a, err := interceptor.NewA66(
		interceptor.WithA66ContextLabels(interceptor.A66ContextLabels{Names: []string{"tenant"}, Server: turn, Limit: dmTenantLimit}),
	)
	require.NoError(t, err)
	install := serverInstall(t, reg, interceptor.ServerSets{A66: a})
	srv := grpc.NewServer(withRecovery(install)...)
	proxy.New().Register(srv)
	rootcoord.New().Register(srv)
	datanode.New().Register(srv)
	require.NoError(t, install.Init(srv))
	conn := serveInMemory(t, srv)
	methods, err := unaryMethods(conn, srv)
	require.NoError(t, err)
	return &stack{metrics: promtest.ServeMetricsWith(t, reg, httpserver.Options{}), methods: methods}
}

// dmNewContextLabelStack is the generic stack with the context label
// "tenant" on the provider's server families, bounded to dmTenantLimit.
func dmNewContextLabelStack(t *testing.T) *stack {
	t.Helper()
	reg := prometheus.NewRegistry()
	sm, err := interceptor.NewServerMetrics(
		interceptor.WithContextLabels(interceptor.ContextLabels{Names: []string{"tenant"}, Values: dmTenant, Limit: dmTenantLimit}),
	)
	require.NoError(t, err)
	install := serverInstall(t, reg, interceptor.ServerSets{Provider: sm},
		interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()))
	srv := grpc.NewServer(withRecovery(install)...)
	proxy.New().Register(srv)
	rootcoord.New().Register(srv)
	datanode.New().Register(srv)
	require.NoError(t, install.Init(srv))
	conn := serveInMemory(t, srv)
	methods, err := unaryMethods(conn, srv)
	require.NoError(t, err)
	return &stack{metrics: promtest.ServeMetricsWith(t, reg, httpserver.Options{}), methods: methods}
}

// TestContextLabelPanelsOnRealData generates the generic and the A66
// dashboards with the context label "tenant" and runs its by-tenant queries on a real
// Prometheus that scrapes a server counted with that label, with traffic:
// each must answer with finite values, one series per tenant kept and one
// for the overflow, ratios within [0, 1] and request rates above 0.
func TestContextLabelPanelsOnRealData(t *testing.T) {
	t.Parallel()
	bin := promtest.RequireBinary(t, "prometheus")
	for _, tt := range []struct {
		flavour mixin.Flavour
		stack   func(*testing.T) *stack
	}{
		{mixin.Generic, dmNewContextLabelStack},
		{mixin.A66, dmNewA66ContextLabelStack},
	} {
		t.Run(string(tt.flavour), func(t *testing.T) {
			t.Parallel()
			dmContextLabelPanelsOnRealData(t, bin, tt.flavour, tt.stack(t))
		})
	}
}

// dmContextLabelPanelsOnRealData runs the by-tenant queries of flavour f's
// dashboard on a real Prometheus scraping s, under traffic.
func dmContextLabelPanelsOnRealData(t *testing.T, bin string, f mixin.Flavour, s *stack) {
	c := mixin.DefaultConfig(f)
	c.ContextLabels = []string{"tenant"}
	data, err := mixin.DashboardJSON(c)
	require.NoError(t, err)
	queries, err := mixin.Queries(data)
	require.NoError(t, err)

	tctx, stopTraffic := context.WithCancel(context.Background())
	wait := traffic(tctx, 50*time.Millisecond, s)
	t.Cleanup(func() {
		stopTraffic()
		n := wait()
		t.Logf("traffic: %d calls, %d came back with an error", n.calls, n.errors)
	})
	job := string(f) // any job: the flavours select by metric name
	srv := promtest.Start(t, bin, promtest.Config{Jobs: []promtest.Job{{Name: job, Targets: []string{s.metrics}}}})

	var checks []check
	for key, expr := range queries {
		if !strings.Contains(key, " by tenant/") {
			continue
		}
		checks = append(checks, check{
			name:     key,
			job:      job,
			expr:     substitute(expr, job, prPromQLRegexp(s.metrics)),
			ratio:    strings.HasPrefix(key, "Error ratio"),
			positive: strings.HasPrefix(key, "Request rate"),
		})
	}
	require.Len(t, checks, 2, "the request rate and the error ratio by tenant: %v", queries)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, ck := range checks {
		t.Run(ck.name, func(t *testing.T) {
			var last string
			for {
				qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
				samples, err := promtest.Query(qctx, srv.URL, ck.expr)
				qcancel()
				if err != nil {
					last = err.Error()
				} else if last = ck.verdict(samples); last == "" {
					tenants := map[string]bool{}
					for _, sm := range samples {
						tenants[sm.Metric["tenant"]] = true
					}
					// Three tenants call; two are kept, the third counts as overflow.
					if len(tenants) == dmTenantLimit+1 && tenants[interceptor.ContextLabelOverflow] {
						return
					}
					last = fmt.Sprintf("tenants %v, want %d kept and %q", tenants, dmTenantLimit, interceptor.ContextLabelOverflow)
				}
				if ctx.Err() != nil {
					assert.Fail(t, last, "query: %s", ck.expr)
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
		})
	}
}
