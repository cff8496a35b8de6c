package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// mxMilvusStats re-creates, from a description of Milvus v2.6.16's proxy,
// what its request-stats interceptor does per request: it splits the full
// method to find the method's name, formats the node ID (for each series it
// increments), reads the
// request's database and collection names, increments
// milvus_proxy_req_count{node_id, function_name, status, db_name,
// collection_name} with status "total" through WithLabelValues, runs the
// handler, finds the response's status with a type switch, and increments
// the series of the outcome through WithLabelValues again. Nothing bounds
// the names. Written here for the benchmark, not taken from Milvus; the
// latency histogram, which Milvus's handlers fill, is not part of it.
type mxMilvusStats struct {
	nodeID  int64
	count   *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func newMxMilvusStats(nodeID int64) *mxMilvusStats {
	return &mxMilvusStats{nodeID: nodeID, count: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "milvus", Subsystem: "proxy", Name: "req_count", Help: "count of operation executed",
	}, []string{"node_id", "function_name", "status", "db_name", "collection_name"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "milvus", Subsystem: "proxy", Name: "req_latency", Help: "latency of each request",
			Buckets: prometheus.ExponentialBuckets(1, 2, 18),
		}, []string{"node_id", "function_name"})}
}

// withHandlerLatency adds to the interceptor what Milvus's handlers do for
// milvus_proxy_req_latency, which Milvus26 does in the interceptor: read
// the wall clock when the request starts and, on success, observe the
// whole milliseconds since under the node ID (formatted again) and the
// method's name, through WithLabelValues. With it both sides do the same
// work.
func (m *mxMilvusStats) withHandlerLatency(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return m.intercept(ctx, req, info, func(ctx context.Context, req any) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		if st, ok := resp.(interface{ GetStatus() *commonpb.Status }); ok && err == nil &&
			st.GetStatus().GetErrorCode() == commonpb.ErrorCode_Success && st.GetStatus().GetCode() == 0 {
			m.latency.WithLabelValues(strconv.FormatInt(m.nodeID, 10), "Search").Observe(float64(time.Since(start).Milliseconds()))
		}
		return resp, err
	})
}

func (m *mxMilvusStats) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	parts := strings.Split(info.FullMethod, "/")
	function := parts[len(parts)-1]
	var db, coll string
	if r, ok := req.(interface{ GetDbName() string }); ok {
		db = r.GetDbName()
	}
	if r, ok := req.(interface{ GetCollectionName() string }); ok {
		coll = r.GetCollectionName()
	}
	m.count.WithLabelValues(strconv.FormatInt(m.nodeID, 10), function, "total", db, coll).Inc()
	resp, err := handler(ctx, req)
	if err != nil {
		m.count.WithLabelValues(strconv.FormatInt(m.nodeID, 10), function, "rejected", db, coll).Inc()
		return resp, err
	}
	var st *commonpb.Status
	switch r := resp.(type) {
	case interface{ GetStatus() *commonpb.Status }:
		st = r.GetStatus()
	case *commonpb.Status:
		st = r
	}
	outcome := "success"
	if st.GetErrorCode() != commonpb.ErrorCode_Success || st.GetCode() != 0 {
		outcome = "fail"
		if code := st.GetCode(); code == 8 || code == 109 {
			outcome = "retry"
		}
	}
	m.count.WithLabelValues(strconv.FormatInt(m.nodeID, 10), function, outcome, db, coll).Inc()
	return resp, err
}

const mxSearch = "/milvus.proto.milvus.MilvusService/Search"

// mxRequests returns search requests over 100 collections in 10
// databases, so that no one-entry cache helps.
func mxRequests() []*milvuspb.SearchRequest {
	reqs := make([]*milvuspb.SearchRequest, 100)
	for i := range reqs {
		reqs[i] = &milvuspb.SearchRequest{DbName: fmt.Sprintf("db_%d", i%10), CollectionName: fmt.Sprintf("collection_%d", i)}
	}
	return reqs
}

// mxImpls are the interceptors compared: the re-creation of Milvus's (alone,
// and with its handlers' latency observation), our Milvus26 alone (without
// and with WithReqLatency: equal work to each), and one Server of Milvus26, Milvus v2.0's counters and
// the provider's families with the latency histogram.
func mxImpls(tb testing.TB) []struct {
	name string
	icpt grpc.UnaryServerInterceptor
} {
	tb.Helper()
	m26, err := interceptor.NewMilvus26(interceptor.WithNodeID(7))
	require.NoError(tb, err)
	timed26, err := interceptor.NewMilvus26(interceptor.WithNodeID(7), interceptor.WithReqLatency())
	require.NoError(tb, err)
	all26, err := interceptor.NewMilvus26(interceptor.WithNodeID(7), interceptor.WithReqLatency())
	require.NoError(tb, err)
	m := registry.New()
	require.NoError(tb, m.Register(prometheus.NewRegistry()))
	methods, err := methodmap.Default(m)
	require.NoError(tb, err)
	ic, err := interceptor.NewMilvusCounters(methods)
	require.NoError(tb, err)
	sm, err := interceptor.NewServerMetrics()
	require.NoError(tb, err)
	all := serverInstall(tb, prometheus.NewRegistry(), interceptor.ServerSets{Milvus: ic, Provider: sm, Milvus26: all26}, mxServices{},
		interceptor.WithHistogram(interceptor.Histogram{}))
	return []struct {
		name string
		icpt grpc.UnaryServerInterceptor
	}{
		{"milvus", newMxMilvusStats(7).intercept},
		{"milvus+handler-latency", newMxMilvusStats(7).withHandlerLatency},
		{"grpcmetrics", serverInstall(tb, prometheus.NewRegistry(), interceptor.ServerSets{Milvus26: m26}, mxServices{}).UnaryServerInterceptor()},
		{"grpcmetrics+latency", serverInstall(tb, prometheus.NewRegistry(), interceptor.ServerSets{Milvus26: timed26}, mxServices{}).UnaryServerInterceptor()},
		{"grpcmetrics-3sets", all.UnaryServerInterceptor()},
	}
}

// mxServices registers Search, for ServerMetrics.Init.
type mxServices struct{}

func (mxServices) GetServiceInfo() map[string]grpc.ServiceInfo {
	return map[string]grpc.ServiceInfo{"milvus.proto.milvus.MilvusService": {Methods: []grpc.MethodInfo{{Name: "Search"}}}}
}

// BenchmarkMilvus26 measures Milvus 2.6's request counters: the
// re-creation of Milvus's own interceptor (impl=milvus; with its handlers'
// latency observation, impl=milvus+handler-latency) against Milvus26
// (impl=grpcmetrics, and with WithReqLatency impl=grpcmetrics+latency),
// and one install of three sets
// (impl=grpcmetrics-3sets), each op one warm call of Search, with a no-op
// handler, rotating over 100 collections in 10 databases. Interleave the
// implementations by running the binary once per sample, alternating the
// order:
//
//	go test -c -o bench.test .
//	for i in $(seq 10); do
//		for first in "" 1; do
//			MILVUS26_REVERSE=$first ./bench.test -test.run '^$' -test.bench BenchmarkMilvus26 -test.benchtime 200000x
//		done
//	done > milvus26.txt
//	benchstat -col /impl milvus26.txt
func BenchmarkMilvus26(b *testing.B) {
	impls := mxImpls(b)
	if os.Getenv("MILVUS26_REVERSE") != "" {
		for i, j := 0, len(impls)-1; i < j; i, j = i+1, j-1 {
			impls[i], impls[j] = impls[j], impls[i]
		}
	}
	reqs := mxRequests()
	for _, impl := range impls {
		b.Run("path=search-100-collections/impl="+impl.name, func(b *testing.B) { mxLoop(b, impl.icpt, reqs) })
	}
}

// mxLoop measures icpt, each op one warm call of Search with a no-op
// handler answering success, rotating over reqs.
func mxLoop(b *testing.B, icpt grpc.UnaryServerInterceptor, reqs []*milvuspb.SearchRequest) {
	resp := &milvuspb.SearchResults{Status: &commonpb.Status{}}
	h := func(context.Context, any) (any, error) { return resp, nil }
	info := &grpc.UnaryServerInfo{FullMethod: mxSearch}
	ctx := context.Background()
	for _, req := range reqs { // warm
		sinkResp, sinkErr = icpt(ctx, req, info, h)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		sinkResp, sinkErr = icpt(ctx, reqs[i%len(reqs)], info, h)
		i++
	}
}

// TestMilvus26AgreesWithRecreation counts the same calls, every outcome,
// with the re-creation of Milvus's interceptor and with Milvus26, and
// checks that milvus_proxy_req_count is the same in both.
func TestMilvus26AgreesWithRecreation(t *testing.T) {
	milvus := newMxMilvusStats(7)
	milvusReg := prometheus.NewPedanticRegistry()
	require.NoError(t, milvusReg.Register(milvus.count))
	m26, err := interceptor.NewMilvus26(interceptor.WithNodeID(7))
	require.NoError(t, err)
	oursReg := prometheus.NewPedanticRegistry()
	ours := serverInstall(t, oursReg, interceptor.ServerSets{Milvus26: m26}, mxServices{}).UnaryServerInterceptor()

	answers := []struct {
		resp any
		err  error
	}{
		{&milvuspb.SearchResults{Status: &commonpb.Status{}}, nil},
		{&milvuspb.SearchResults{}, nil},
		{&milvuspb.SearchResults{Status: &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError}}, nil},
		{&milvuspb.SearchResults{Status: &commonpb.Status{Code: 65535}}, nil},
		{&milvuspb.SearchResults{Status: &commonpb.Status{Code: 8}}, nil},
		{&commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError, Code: 109}, nil},
		{&commonpb.Status{}, nil},
		{nil, errors.New("rejected by an interceptor")},
	}
	info := &grpc.UnaryServerInfo{FullMethod: mxSearch}
	for i, req := range mxRequests()[:40] {
		a := answers[i%len(answers)]
		h := func(context.Context, any) (any, error) { return a.resp, a.err }
		for _, icpt := range []grpc.UnaryServerInterceptor{milvus.intercept, ours} {
			_, err := icpt(context.Background(), req, info, h)
			assert.Equal(t, a.err, err)
		}
	}
	want, got := mxDump(t, milvusReg), mxDump(t, oursReg)
	assert.Len(t, want, 80)
	assert.Equal(t, want, got)
}

// mxDump returns milvus_proxy_req_count's series of g, by labels.
func mxDump(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	return mxFamily(t, g, "milvus_proxy_req_count", func(m *dto.Metric) float64 { return m.GetCounter().GetValue() })
}

// mxFamily returns value of each series of family name of g, by labels.
func mxFamily(t *testing.T, g prometheus.Gatherer, name string, value func(*dto.Metric) float64) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			var key []string
			for _, lp := range mt.GetLabel() {
				key = append(key, lp.GetName()+"="+lp.GetValue())
			}
			out[strings.Join(key, ",")] = value(mt)
		}
	}
	return out
}
