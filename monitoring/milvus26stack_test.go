package monitoring_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcmetrics/grpcmetrics/examples/datanode"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/monitoring/mixin"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// mmCollectionLimit is the Milvus 2.6 stacks' collection limit: below the
// (db_name, collection_name) pairs that the traffic brings (three
// collection names, under "default" for the request types Milvus fills
// and "" for the others), so that the overflow counter moves.
const mmCollectionLimit = 2

// mmRetryEvery is how often, in calls that answer a Milvus status, the
// Milvus 2.6 stacks turn the status into a rate limit (code 8), which
// milvus_proxy_req_count counts under "retry".
const mmRetryEvery = 4

// mmNewMilvus26Stack counts into Milvus 2.6's request counters (the names
// the Milvus 2.6 flavour reads), over the example services, with the
// collection limit mmCollectionLimit and one in mmRetryEvery statuses
// turned into a rate limit; the traffic's own calls are counted by
// ClientMetrics. If withMilvus is set, the set is installed by NewServerInstall
// beside Milvus v2.0's counters of the built-in table, as one install;
// else alone. /metrics is served in OpenMetrics, to a scraper that asks
// for it, if openMetrics is set.
func mmNewMilvus26Stack(t *testing.T, withMilvus, openMetrics bool) *stack {
	t.Helper()
	return mmNewMilvus26LineStack(t, interceptor.MilvusV2616, withMilvus, openMetrics)
}

// mmNewMilvus26LineStack is mmNewMilvus26Stack on the release line line,
// with milvus_proxy_grpc_latency on; on the lines with the cause label,
// mmCauses turns some calls into failures of cause user and cancel, beside
// the traffic's own failures, of cause system.
func mmNewMilvus26LineStack(t *testing.T, line interceptor.Milvus26Line, withMilvus, openMetrics bool) *stack {
	t.Helper()
	reg := prometheus.NewRegistry()
	set, err := interceptor.NewMilvus26(interceptor.WithNodeID(1), interceptor.WithCollectionLimit(mmCollectionLimit),
		interceptor.WithReqLatency(), interceptor.WithGRPCLatency(), interceptor.WithLine(line))
	require.NoError(t, err)
	sets := interceptor.ServerSets{Milvus26: set}
	if withMilvus {
		m := registry.New()
		require.NoError(t, m.Register(reg))
		table, err := methodmap.Default(m)
		require.NoError(t, err)
		if sets.Milvus, err = interceptor.NewMilvusCounters(table); err != nil {
			t.Fatal(err)
		}
	}
	install := serverInstall(t, reg, sets)
	inner := []grpc.UnaryServerInterceptor{mmRateLimit(mmRetryEvery)}
	if line != interceptor.MilvusV2616 {
		inner = append(inner, mmCauses(mmCauseEvery))
	}
	srv := grpc.NewServer(withRecovery(install, grpc.ChainUnaryInterceptor(inner...))...)
	proxy.New().Register(srv)
	rootcoord.New().Register(srv)
	datanode.New().Register(srv)
	require.NoError(t, install.Init(srv))
	conn := serveInMemory(t, srv, clientInstall(t, reg,
		interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()),
		interceptor.WithHistogram(interceptor.Histogram{})).DialOptions()...)
	methods, err := unaryMethods(conn, srv)
	require.NoError(t, err)
	return &stack{metrics: promtest.ServeMetricsWith(t, reg, httpserver.Options{OpenMetrics: openMetrics}), methods: methods}
}

// mmRateLimit answers one in every n calls that return a succeeding Milvus
// status with a rate limit instead: error_code RateLimit (49) and code 8,
// as Milvus's rate limiter does.
func mmRateLimit(n int64) grpc.UnaryServerInterceptor {
	var calls atomic.Int64
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return resp, err
		}
		msg, ok := resp.(proto.Message)
		if !ok {
			return resp, nil
		}
		st := mmStatusOf(msg.ProtoReflect())
		if st == nil {
			return resp, nil
		}
		fields := st.Descriptor().Fields()
		if st.Get(fields.ByName("error_code")).Enum() != 0 || st.Get(fields.ByName("code")).Int() != 0 {
			return resp, nil // already failing
		}
		if calls.Add(1)%n == 0 {
			st.Set(fields.ByName("error_code"), protoreflect.ValueOfEnum(49))
			st.Set(fields.ByName("code"), protoreflect.ValueOfInt32(8))
		}
		return resp, nil
	}
}

// mmCauseEvery is how often, in calls, mmCauses turns a call into a
// failure of cause user and, the next call, one of cause cancel.
const mmCauseEvery = 6

// mmCauses turns one in every n calls into a rejection of cause user (an
// InvalidArgument error, as Milvus's hook interceptor returns), and the
// next, if it answers a Milvus status, into a failure of cause cancel
// (code 10000, Milvus's client cancellation), so that the dashboards of
// the lines with the cause label have every cause to show.
func mmCauses(n int64) grpc.UnaryServerInterceptor {
	var calls atomic.Int64
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		switch calls.Add(1) % n {
		case 1:
			return nil, status.Error(codes.InvalidArgument, "mmCauses: rejected, the caller's fault")
		case 2:
			resp, err := handler(ctx, req)
			if msg, ok := resp.(proto.Message); ok && err == nil {
				if st := mmStatusOf(msg.ProtoReflect()); st != nil {
					st.Set(st.Descriptor().Fields().ByName("code"), protoreflect.ValueOfInt32(10000))
				}
			}
			return resp, err
		}
		return handler(ctx, req)
	}
}

// mmStatusOf returns the Milvus status of a response, m itself or its
// status field, made if unset; nil if it has none.
func mmStatusOf(m protoreflect.Message) protoreflect.Message {
	const status = "milvus.proto.common.Status"
	if m.Descriptor().FullName() == status {
		return m
	}
	f := m.Descriptor().Fields().ByName("status")
	if f == nil || f.Message() == nil || f.Message().FullName() != status {
		return nil
	}
	return m.Mutable(f).Message()
}

// TestMilvus26CauseQueriesOnRealData runs a real Prometheus with the rules
// of the Milvus 2.6 flavour on the lines with the cause label
// (rules/milvus26-v2.6.21.rules.yml), scraping two servers counted by
// Milvus26 on those lines, with traffic: one on v2.6.21 (its outcomes
// without a cause have no cause label), in the text format; one on v2.6.20
// (cause="na"), beside Milvus v2.0's counters, in OpenMetrics. Every query
// of dashboards/milvus26-v2.6.21.json, for each instance, and every
// recording rule must answer with a non-empty vector of finite,
// non-negative values, ratios within [0, 1] and rates above 0 where
// traffic flows, as in TestQueriesOnRealData; the alerts must evaluate.
func TestMilvus26CauseQueriesOnRealData(t *testing.T) {
	t.Parallel()
	bin := promtest.RequireBinary(t, "prometheus")
	c := mixin.DefaultConfig(mixin.Milvus26)
	c.Milvus26Line = mixin.Milvus26V2621
	// The rules select every job (c.Job is empty); the dashboard's job
	// variable is set to this one.
	const job = "milvus26-lines"
	rules, err := filepath.Abs(filepath.Join("rules", c.Name()+".rules.yml"))
	require.NoError(t, err)
	stacks := []*stack{
		mmNewMilvus26LineStack(t, interceptor.MilvusV2621, false, false),
		mmNewMilvus26LineStack(t, interceptor.MilvusV2620, true, true),
	}
	tctx, stopTraffic := context.WithCancel(context.Background())
	var waits []func() trafficCount
	for _, s := range stacks {
		waits = append(waits, traffic(tctx, 100*time.Millisecond, s))
	}
	t.Cleanup(func() {
		stopTraffic()
		for _, wait := range waits {
			wait()
		}
	})
	srv := promtest.Start(t, bin, promtest.Config{
		Jobs:      []promtest.Job{{Name: job, Targets: []string{stacks[0].metrics, stacks[1].metrics}}},
		RuleFiles: []string{rules},
	})
	var checks []check
	for _, s := range stacks {
		checks = append(checks, dashboardChecks(t, c.Name(), job, s.metrics)...)
	}
	checks = append(checks, ruleChecks(t, c.Name(), job)...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	query := queryOf(ctx, srv.URL)
	last := pollChecks(ctx, query, checks)
	for i, ch := range checks {
		t.Run(ch.name, func(t *testing.T) {
			if last[i] != "" {
				t.Errorf("%s\nquery: %s", last[i], ch.expr)
			}
		})
	}
	for _, g := range readRules(t, c.Name()).Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				_, err := query(r.Expr)
				assert.NoError(t, err, r.Alert)
			}
		}
	}
	t.Logf("%d queries checked against a real Prometheus, none skipped", len(checks))
}
