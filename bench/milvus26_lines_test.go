package bench

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// mlMilvusStats re-creates, in our words, the request-stats interceptor of
// Milvus's proxy as each release line has it
// (internal/distributed/proxy/request_interceptor.go,
// UnaryRequestStatsInterceptor, with pkg/util/requestutil's getters and
// ParseMetricLabel and pkg/util/merr's Ok, at v2.6.16, and in the change
// that v2.6.20, v2.6.21 and 3.0 took). Per request it: finds the method's
// name in a concurrent cache of full method → name; reads the database and
// the collection through getters that return them as interface values,
// which the interceptor then asserts back to strings; formats the node ID
// and increments milvus_proxy_req_count's "total" series through
// WithLabelValues; reads the clock; runs the handler; classifies the
// outcome; formats the node ID again and increments the outcome's series;
// formats it a third time and observes the whole milliseconds since the
// start in milvus_proxy_grpc_latency, through WithLabelValues. Nothing
// bounds the names. Written here for the benchmark, not taken from Milvus.
type mlMilvusStats struct {
	nodeID      int64
	retryable   map[int32]struct{} // typeutil.Set of merr.ErrServiceRateLimit's and merr.ErrCollectionSchemaMismatch's codes
	causes      bool               // v2.6.20 and later: the cause label
	na          string             // the cause of the outcomes without one
	tags        sync.Map
	count       *prometheus.CounterVec
	grpcLatency *prometheus.HistogramVec
}

func newMlMilvusStats(nodeID int64, line interceptor.Milvus26Line) *mlMilvusStats {
	m := &mlMilvusStats{nodeID: nodeID, causes: line != interceptor.MilvusV2616, retryable: map[int32]struct{}{8: {}, 109: {}}}
	count := []string{"node_id", "function_name", "status", "db_name", "collection_name"}
	latency := []string{"node_id", "function_name", "status"}
	if m.causes {
		count = []string{"node_id", "function_name", "status", "cause", "db_name", "collection_name"}
		latency = append(latency, "cause")
	}
	if line == interceptor.MilvusV2620 {
		m.na = "na"
	}
	m.count = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "milvus", Subsystem: "proxy", Name: "req_count", Help: "count of operation executed",
	}, count)
	m.grpcLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "milvus", Subsystem: "proxy", Name: "grpc_latency", Help: "latency of each grpc request",
		Buckets: prometheus.ExponentialBuckets(1, 2, 18),
	}, latency)
	return m
}

// tag returns the method's name, the last element of the full method,
// cached per full method.
func (m *mlMilvusStats) tag(fullMethod string) string {
	if v, ok := m.tags.Load(fullMethod); ok {
		return v.(string)
	}
	parts := strings.Split(fullMethod, "/")
	tag := parts[len(parts)-1]
	m.tags.Store(fullMethod, tag)
	return tag
}

// mlDBName and mlCollectionName are requestutil's getters: the name as an
// interface value, "" when the request has no such getter.
func mlDBName(req any) (any, bool) {
	if r, ok := req.(interface{ GetDbName() string }); ok {
		return r.GetDbName(), true
	}
	return "", false
}

func mlCollectionName(req any) (any, bool) {
	if r, ok := req.(interface{ GetCollectionName() string }); ok {
		return r.GetCollectionName(), true
	}
	return "", false
}

func (m *mlMilvusStats) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	tag := m.tag(info.FullMethod)
	db, _ := mlDBName(req)
	coll, _ := mlCollectionName(req)
	dbName, collName := db.(string), coll.(string)
	if m.causes {
		m.count.WithLabelValues(strconv.FormatInt(m.nodeID, 10), tag, "total", m.na, dbName, collName).Inc()
	} else {
		m.count.WithLabelValues(strconv.FormatInt(m.nodeID, 10), tag, "total", dbName, collName).Inc()
	}
	start := time.Now()
	resp, err := handler(ctx, req)
	st, cause := m.parse(resp, err)
	if m.causes {
		m.count.WithLabelValues(strconv.FormatInt(m.nodeID, 10), tag, st, cause, dbName, collName).Inc()
		m.grpcLatency.WithLabelValues(strconv.FormatInt(m.nodeID, 10), tag, st, cause).Observe(float64(time.Since(start).Milliseconds()))
	} else {
		m.count.WithLabelValues(strconv.FormatInt(m.nodeID, 10), tag, st, dbName, collName).Inc()
		m.grpcLatency.WithLabelValues(strconv.FormatInt(m.nodeID, 10), tag, st).Observe(float64(time.Since(start).Milliseconds()))
	}
	return resp, err
}

// parse is ParseMetricLabel of the line. v2.6.16: an error is "rejected";
// a failing status (error_code or code not 0) "retry" for a retryable
// code, else "fail"; else "success". Since v2.6.20, a failing status
// first: code 10000 ("fail", "cancel"), a retryable code "retry", the
// input-error flag ("fail", "user"), else ("fail", "system"); then an
// error: context.Canceled ("rejected", "cancel"), merr's input error or
// the codes Unauthenticated, PermissionDenied and InvalidArgument
// ("rejected", "user"), else ("rejected", "system").
func (m *mlMilvusStats) parse(resp any, err error) (string, string) {
	var st *commonpb.Status
	switch r := resp.(type) {
	case interface{ GetStatus() *commonpb.Status }:
		st = r.GetStatus()
	case *commonpb.Status:
		st = r
	}
	failing := st.GetErrorCode() != commonpb.ErrorCode_Success || st.GetCode() != 0
	if !m.causes {
		_, retry := m.retryable[st.GetCode()]
		switch {
		case err != nil:
			return "rejected", ""
		case failing && retry:
			return "retry", ""
		case failing:
			return "fail", ""
		}
		return "success", ""
	}
	if st != nil && failing {
		if st.GetCode() == 10000 {
			return "fail", "cancel"
		}
		if _, retry := m.retryable[st.GetCode()]; retry {
			return "retry", m.na
		}
		// The example protos' Status has no extra_info, so no input flag.
		return "fail", "system"
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return "rejected", "cancel"
		}
		var classified interface{ GetErrorType() int32 }
		if errors.As(err, &classified) && classified.GetErrorType() == 1 {
			return "rejected", "user"
		}
		switch status.Code(err) {
		case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument:
			return "rejected", "user"
		}
		return "rejected", "system"
	}
	return "success", m.na
}

// mlLines are the release lines benchmarked.
var mlLines = []interceptor.Milvus26Line{interceptor.MilvusV2616, interceptor.MilvusV2620, interceptor.MilvusV2621}

// BenchmarkMilvus26Lines measures each release line: the re-creation of
// Milvus's own request interceptor of that line (impl=milvus), with its
// milvus_proxy_grpc_latency, against Milvus26 on that line with
// WithGRPCLatency (impl=grpcmetrics), equal work: each op one warm call of
// Search, with a no-op handler answering success, rotating over 100
// collections in 10 databases. Interleave the implementations by running
// the binary once per sample, alternating the order:
//
//	go test -c -o bench.test .
//	for i in $(seq 10); do
//		for first in "" 1; do
//			MILVUS26_REVERSE=$first ./bench.test -test.run '^$' -test.bench BenchmarkMilvus26Lines -test.benchtime 200000x
//		done
//	done > milvus26-lines.txt
//	benchstat -row /line -col /impl milvus26-lines.txt
func BenchmarkMilvus26Lines(b *testing.B) {
	reqs := mxRequests()
	for _, line := range mlLines {
		ours, err := interceptor.NewMilvus26(interceptor.WithNodeID(7), interceptor.WithLine(line), interceptor.WithGRPCLatency())
		require.NoError(b, err)
		impls := []struct {
			name string
			icpt grpc.UnaryServerInterceptor
		}{
			{"milvus", newMlMilvusStats(7, line).intercept},
			{"grpcmetrics", serverInstall(b, prometheus.NewRegistry(), interceptor.ServerSets{Milvus26: ours}, mxServices{}).UnaryServerInterceptor()},
		}
		if os.Getenv("MILVUS26_REVERSE") != "" {
			impls[0], impls[1] = impls[1], impls[0]
		}
		for _, impl := range impls {
			b.Run("line="+line.String()+"/impl="+impl.name, func(b *testing.B) { mxLoop(b, impl.icpt, reqs) })
		}
	}
}

// BenchmarkMilvus26LinesRatio compares the same pairs as
// BenchmarkMilvus26Lines with both sides interleaved, as BenchmarkRatio
// does: blocks of ratioBlock calls of Milvus26 and of the re-creation of
// Milvus's interceptor of the line take turns, each timed on its own, so
// that both run under the same conditions of a shared machine. An op is one
// call of each, rotating over 100 collections in 10 databases; the metrics
// are each side's mean time per call and the ratio of Milvus's total time
// to Milvus26's. Milvus26 runs with the default status rule (status=default,
// which reads any Milvus-style status by reflection) and with the typed
// rule (status=typed, interceptor.MilvusStatus on the example protos'
// Status, type assertions alone, as Milvus's own type switch).
//
//	go test -run '^$' -bench BenchmarkMilvus26LinesRatio -benchtime 400000x -count 10 . > milvus26-lines-ratio.txt
//	benchstat -row /line -col /status milvus26-lines-ratio.txt
func BenchmarkMilvus26LinesRatio(b *testing.B) {
	reqs := mxRequests()
	resp := &milvuspb.SearchResults{Status: &commonpb.Status{}}
	h := func(context.Context, any) (any, error) { return resp, nil }
	info := &grpc.UnaryServerInfo{FullMethod: mxSearch}
	ctx := context.Background()
	rules := []struct {
		name string
		opts []interceptor.InstallOption // the install's status rule
	}{
		{"default", nil},
		{"typed", []interceptor.InstallOption{interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]())}},
	}
	for _, line := range mlLines {
		for _, rule := range rules {
			b.Run("line="+line.String()+"/status="+rule.name, func(b *testing.B) {
				m26, err := interceptor.NewMilvus26(interceptor.WithNodeID(7), interceptor.WithLine(line), interceptor.WithGRPCLatency())
				require.NoError(b, err)
				install := serverInstall(b, prometheus.NewRegistry(), interceptor.ServerSets{Milvus26: m26}, mxServices{}, rule.opts...)
				ours, milvus := install.UnaryServerInterceptor(), newMlMilvusStats(7, line).intercept
				for _, req := range reqs { // warm
					sinkResp, sinkErr = ours(ctx, req, info, h)
					sinkResp, sinkErr = milvus(ctx, req, info, h)
				}
				side := func(icpt grpc.UnaryServerInterceptor) func(int) {
					i := 0
					return func(n int) {
						for range n {
							sinkResp, sinkErr = icpt(ctx, reqs[i%len(reqs)], info, h)
							i++
						}
					}
				}
				tOurs, tMilvus := interleaved(b, side(ours), side(milvus))
				b.ReportMetric(float64(tOurs.Nanoseconds())/float64(b.N), "grpcmetrics-ns/call")
				b.ReportMetric(float64(tMilvus.Nanoseconds())/float64(b.N), "milvus-ns/call")
				b.ReportMetric(float64(tMilvus)/float64(tOurs), "ratio")
			})
		}
	}
}

// TestMilvus26LinesAgreeWithRecreation counts the same calls, every
// outcome the example protos can carry, with the re-creation of each
// line's interceptor and with Milvus26 on that line, and checks that
// milvus_proxy_req_count and the observation counts of
// milvus_proxy_grpc_latency are the same in both: the benchmark compares
// equal work.
func TestMilvus26LinesAgreeWithRecreation(t *testing.T) {
	answers := []struct {
		resp any
		err  error
	}{
		{&milvuspb.SearchResults{Status: &commonpb.Status{}}, nil},
		{&milvuspb.SearchResults{}, nil},
		{&milvuspb.SearchResults{Status: &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError}}, nil},
		{&milvuspb.SearchResults{Status: &commonpb.Status{Code: 65535}}, nil},
		{&milvuspb.SearchResults{Status: &commonpb.Status{Code: 8}}, nil},
		{&milvuspb.SearchResults{Status: &commonpb.Status{Code: 10000}}, nil},
		{&commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError, Code: 109}, nil},
		{&commonpb.Status{}, nil},
		{nil, errors.New("rejected by an interceptor")},
		{nil, status.Error(codes.PermissionDenied, "privilege")},
		{nil, status.Error(codes.Canceled, "a raw gRPC cancel")},
		{nil, context.Canceled},
	}
	info := &grpc.UnaryServerInfo{FullMethod: mxSearch}
	for _, line := range mlLines {
		t.Run(line.String(), func(t *testing.T) {
			milvus := newMlMilvusStats(7, line)
			milvusReg := prometheus.NewPedanticRegistry()
			require.NoError(t, milvusReg.Register(milvus.count))
			require.NoError(t, milvusReg.Register(milvus.grpcLatency))
			m26, err := interceptor.NewMilvus26(interceptor.WithNodeID(7), interceptor.WithLine(line), interceptor.WithGRPCLatency())
			require.NoError(t, err)
			oursReg := prometheus.NewPedanticRegistry()
			ours := serverInstall(t, oursReg, interceptor.ServerSets{Milvus26: m26}, mxServices{}).UnaryServerInterceptor()
			for i, req := range mxRequests()[:48] {
				a := answers[i%len(answers)]
				h := func(context.Context, any) (any, error) { return a.resp, a.err }
				for _, icpt := range []grpc.UnaryServerInterceptor{milvus.intercept, ours} {
					_, err := icpt(context.Background(), req, info, h)
					assert.Equal(t, a.err, err)
				}
			}
			want, got := mxDump(t, milvusReg), mxDump(t, oursReg)
			assert.Len(t, want, 96)
			assert.Equal(t, want, got)
			count := func(m *dto.Metric) float64 { return float64(m.GetHistogram().GetSampleCount()) }
			assert.Equal(t, mxFamily(t, milvusReg, "milvus_proxy_grpc_latency", count), mxFamily(t, oursReg, "milvus_proxy_grpc_latency", count))
		})
	}
}
