package interceptor_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// The rules these tests expect are Milvus v2.6.16's, as its proxy's
// UnaryRequestStatsInterceptor and DatabaseInterceptor apply them:
//   - status "total" before the handler; after it "rejected" when the
//     handler returned an error, else, with the response's status (the
//     response itself when it is a Status, else its GetStatus()), "retry"
//     when the status is not OK (error_code or code non-zero) and its code
//     is 8 (rate limit) or 109 (collection schema mismatch), "fail" when
//     it is not OK otherwise, "success" when it is OK;
//   - function_name the method's last path element; db_name and
//     collection_name from GetDbName and GetCollectionName;
//   - an empty DbName of a listed request type (CreateCollection, HasCollection,
//     ShowCollections … among them) is the "dbname" metadata, else "default".
// Where this package differs on purpose: a handler's panic is "rejected"
// (Milvus counts only "total"), latency is observed for every method's
// successes, and the pair (db_name, collection_name) is bounded.

// mxMilvus answers by the collection name: "fail" a failing error_code,
// "failcode" a failing code (5), "retry8" and "retry109" the retryable
// codes, "error" an error, "panic" a panic; anything else success.
type mxMilvus struct {
	milvuspb.UnimplementedMilvusServiceServer
}

func mxStatus(name string) (*commonpb.Status, error) {
	switch name {
	case "fail":
		return &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError}, nil
	case "failcode":
		return &commonpb.Status{Code: 5}, nil
	case "retry8":
		return &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError, Code: 8}, nil
	case "retry109":
		return &commonpb.Status{Code: 109}, nil
	case "error":
		return nil, grpcstatus.Error(codes.NotFound, "no such thing")
	case "panic":
		panic("mxMilvus: a bug")
	}
	return &commonpb.Status{}, nil
}

func (mxMilvus) CreateCollection(_ context.Context, req *milvuspb.CreateCollectionRequest) (*commonpb.Status, error) {
	return mxStatus(req.GetCollectionName())
}

func (mxMilvus) HasCollection(_ context.Context, req *milvuspb.HasCollectionRequest) (*milvuspb.BoolResponse, error) {
	st, err := mxStatus(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	return &milvuspb.BoolResponse{Status: st, Value: true}, nil
}

func (mxMilvus) ShowCollections(context.Context, *milvuspb.ShowCollectionsRequest) (*milvuspb.ShowCollectionsResponse, error) {
	return &milvuspb.ShowCollectionsResponse{}, nil
}

// mxServe serves mxMilvus over bufconn, with recovery outside the given
// interceptor, and returns a client.
func mxServe(t *testing.T, icpt grpc.UnaryServerInterceptor, after func(*grpc.Server)) milvuspb.MilvusServiceClient {
	t.Helper()
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(), icpt))
	milvuspb.RegisterMilvusServiceServer(gs, mxMilvus{})
	if after != nil {
		after(gs)
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = gs.Serve(lis) }() //nolint:errcheck // ends with Stop
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close()) })
	return milvuspb.NewMilvusServiceClient(conn)
}

// mxGet returns the value of the first series of the family name whose
// labels include labels (a histogram's sample count), 0 if none.
func mxGet(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			switch {
			case mt.GetHistogram() != nil:
				return float64(mt.GetHistogram().GetSampleCount())
			case mt.GetGauge() != nil:
				return mt.GetGauge().GetValue()
			}
			return mt.GetCounter().GetValue()
		}
	}
	return 0
}

// mxSeries returns the number of series of the family name.
func mxSeries(t *testing.T, reg prometheus.Gatherer, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

// mxReq returns the labels of one milvus_proxy_req_count series.
func mxReq(node, function, status, db, coll string) map[string]string {
	return map[string]string{"node_id": node, "function_name": function, "status": status, "db_name": db, "collection_name": coll}
}

// TestMilvus26CountsAsMilvus counts every outcome of two methods, one whose
// response is a Status and one whose response holds one, over bufconn with
// recovery outside the interceptor, and checks every series.
func TestMilvus26CountsAsMilvus(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m26, err := interceptor.LegacyMilvus26(interceptor.WithNodeID(7), interceptor.WithReqLatency())
	require.NoError(t, err)
	require.NoError(t, m26.Register(reg))
	require.NoError(t, m26.Register(reg), "registering twice is a no-op")
	cli := mxServe(t, m26.UnaryServerInterceptor(), nil)
	ctx := context.Background()

	outcomes := map[string]struct {
		n      int
		status string
	}{
		"ok":       {5, "success"},
		"fail":     {4, "fail"},
		"failcode": {3, "fail"},
		"retry8":   {2, "retry"},
		"retry109": {2, "retry"},
		"error":    {3, "rejected"},
		"panic":    {2, "rejected"}, // Milvus: "total" only; ours: rejected
	}
	var wg sync.WaitGroup
	for name, o := range outcomes {
		for range o.n {
			wg.Go(func() {
				//nolint:errcheck // the outcomes are counted, not returned
				cli.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{DbName: "db1", CollectionName: name})
				//nolint:errcheck // the outcomes are counted, not returned
				cli.HasCollection(ctx, &milvuspb.HasCollectionRequest{DbName: "db1", CollectionName: name})
			})
		}
	}
	wg.Wait()
	for _, fn := range []string{"CreateCollection", "HasCollection"} {
		for name, o := range outcomes {
			t.Run(fn+"/"+name, func(t *testing.T) {
				assert.Equal(t, float64(o.n), mxGet(t, reg, "milvus_proxy_req_count", mxReq("7", fn, "total", "db1", name)))
				for _, st := range []string{"success", "fail", "retry", "rejected"} {
					want := 0.0
					if st == o.status {
						want = float64(o.n)
					}
					assert.Equal(t, want, mxGet(t, reg, "milvus_proxy_req_count", mxReq("7", fn, st, "db1", name)), st)
				}
			})
		}
		assert.Equal(t, 5.0, mxGet(t, reg, "milvus_proxy_req_latency", map[string]string{"node_id": "7", "function_name": fn}),
			"latency: the successes alone")
	}
	// Only the series of statuses that happened: 7 names × (total + one).
	assert.Equal(t, 2*7*2, mxSeries(t, reg, "milvus_proxy_req_count"))
	assert.Equal(t, 7.0, mxGet(t, reg, "grpcmetrics_collections", nil))
	assert.Equal(t, 0.0, mxGet(t, reg, "grpcmetrics_collection_overflow_total", nil))
}

// TestMilvus26RootCoordDDL counts every outcome with WithRootCoordDDL, over
// bufconn with recovery outside the interceptor, into rootcoord's families:
// total, then success or fail (retry, errors and panics are fail, as
// rootcoord has no other value), no node_id, db_name or collection_name.
// Milvus's rootcoord counts only some of its methods, by hand; counting
// every method is this set's rule.
func TestMilvus26RootCoordDDL(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m26, err := interceptor.LegacyMilvus26(interceptor.WithRootCoordDDL(), interceptor.WithReqLatency())
	require.NoError(t, err)
	require.NoError(t, m26.Register(reg))
	cli := mxServe(t, m26.UnaryServerInterceptor(), nil)
	ctx := context.Background()
	outcomes := map[string]string{"ok": "success", "fail": "fail", "failcode": "fail", "retry8": "fail", "retry109": "fail", "error": "fail", "panic": "fail"}
	for name := range outcomes {
		//nolint:errcheck // the outcomes are counted, not returned
		cli.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{DbName: "db1", CollectionName: name})
	}
	ddl := func(status string) map[string]string {
		return map[string]string{"function_name": "CreateCollection", "status": status}
	}
	assert.Equal(t, 7.0, mxGet(t, reg, "milvus_rootcoord_ddl_req_count", ddl("total")))
	assert.Equal(t, 1.0, mxGet(t, reg, "milvus_rootcoord_ddl_req_count", ddl("success")))
	assert.Equal(t, 6.0, mxGet(t, reg, "milvus_rootcoord_ddl_req_count", ddl("fail")))
	assert.Equal(t, 3, mxSeries(t, reg, "milvus_rootcoord_ddl_req_count"), "total, success, fail: no pair labels")
	assert.Equal(t, 1.0, mxGet(t, reg, "milvus_rootcoord_ddl_req_latency", map[string]string{"function_name": "CreateCollection"}))
	assert.Zero(t, mxSeries(t, reg, "milvus_proxy_req_count"), "the proxy's family is not written")
	assert.False(t, m26.RemoveCollection("db1", "ok"), "nothing to remove: no collection label")
}

// TestMilvus26DatabaseName checks db_name: as the request gives it, else,
// for the request types Milvus's database interceptor fills, the "dbname"
// metadata or "default"; for other types, "" as sent. The request is not
// changed.
func TestMilvus26DatabaseName(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m26, err := interceptor.LegacyMilvus26(interceptor.WithReqLatency())
	require.NoError(t, err)
	require.NoError(t, m26.Register(reg))
	var seen []string
	var mu sync.Mutex
	record := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if r, ok := req.(interface{ GetDbName() string }); ok {
			mu.Lock()
			seen = append(seen, r.GetDbName())
			mu.Unlock()
		}
		return handler(ctx, req)
	}
	cli := mxServe(t, grpc.UnaryServerInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return m26.UnaryServerInterceptor()(ctx, req, info, func(ctx context.Context, req any) (any, error) {
			return record(ctx, req, info, handler)
		})
	}), nil)
	ctx := context.Background()
	withDB := metadata.AppendToOutgoingContext(ctx, "dbname", "fromheader")
	withEmptyDB := metadata.AppendToOutgoingContext(ctx, "dbname", "")

	tests := []struct {
		name   string
		ctx    context.Context
		db     string
		wantDB string
	}{
		{"explicit", ctx, "db1", "db1"},
		{"explicit beats metadata", withDB, "db2", "db2"},
		{"metadata", withDB, "", "fromheader"},
		{"empty metadata", withEmptyDB, "", "default"},
		{"none", ctx, "", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			coll := "c_" + fmt.Sprint(len(tt.name))
			_, err := cli.CreateCollection(tt.ctx, &milvuspb.CreateCollectionRequest{DbName: tt.db, CollectionName: coll})
			require.NoError(t, err)
			assert.Equal(t, 1.0, mxGet(t, reg, "milvus_proxy_req_count", mxReq("0", "CreateCollection", "success", tt.wantDB, coll)))
		})
	}
	_, err = cli.ShowCollections(withDB, &milvuspb.ShowCollectionsRequest{})
	require.NoError(t, err)
	assert.Equal(t, 1.0, mxGet(t, reg, "milvus_proxy_req_count", mxReq("0", "ShowCollections", "success", "fromheader", "")))
	assert.Equal(t, []string{"db1", "db2", "", "", "", ""}, seen, "the handler sees the request as sent")

	// A type that Milvus does not fill (no protobuf message here) keeps
	// its empty db_name; a request without the getters has "" for both.
	icpt := m26.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/x.Y/Named"}
	ok := func(context.Context, any) (any, error) { return nil, nil }
	_, err = icpt(ctx, mxNamed{coll: "c"}, info, ok)
	require.NoError(t, err)
	_, err = icpt(ctx, struct{}{}, &grpc.UnaryServerInfo{FullMethod: "/x.Y/Bare"}, ok)
	require.NoError(t, err)
	assert.Equal(t, 1.0, mxGet(t, reg, "milvus_proxy_req_count", mxReq("0", "Named", "success", "", "c")))
	assert.Equal(t, 1.0, mxGet(t, reg, "milvus_proxy_req_count", mxReq("0", "Bare", "success", "", "")))
}

// mxNamed is a request of no listed type, with Milvus's getters.
type mxNamed struct{ db, coll string }

func (n mxNamed) GetDbName() string         { return n.db }
func (n mxNamed) GetCollectionName() string { return n.coll }

// TestMilvus26BoundsCollections checks the collection limit: further pairs
// count under the overflow pair and in the overflow counter, the empty pair
// is not counted against the limit, and RemoveCollection frees a place and
// deletes the pair's series.
func TestMilvus26BoundsCollections(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m26, err := interceptor.LegacyMilvus26(interceptor.WithCollectionLimit(2), interceptor.WithReqLatency())
	require.NoError(t, err)
	require.NoError(t, m26.Register(reg))
	icpt := m26.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/x.Y/Named"}
	ok := func(context.Context, any) (any, error) { return nil, nil }
	call := func(db, coll string) {
		_, err := icpt(context.Background(), mxNamed{db, coll}, info, ok)
		require.NoError(t, err)
	}
	call("", "")
	call("d", "a")
	call("d", "b")
	call("d", "c")
	call("e", "a")
	call("d", "a")
	of := interceptor.OverflowCollectionLabel
	count := func(db, coll string) float64 {
		return mxGet(t, reg, "milvus_proxy_req_count", mxReq("0", "Named", "total", db, coll))
	}
	assert.Equal(t, 1.0, count("", ""))
	assert.Equal(t, 2.0, count("d", "a"))
	assert.Equal(t, 1.0, count("d", "b"))
	assert.Equal(t, 0.0, count("d", "c"))
	assert.Equal(t, 2.0, count(of, of))
	assert.Equal(t, 2.0, mxGet(t, reg, "grpcmetrics_collection_overflow_total", nil))
	assert.Equal(t, 2.0, mxGet(t, reg, "grpcmetrics_collections", nil))
	var over any = mxNamed{"d", "c"}
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		_, _ = icpt(context.Background(), over, info, ok) //nolint:errcheck // measured
	}), "an overflowing call allocates nothing")
	assert.Equal(t, 103.0, mxGet(t, reg, "grpcmetrics_collection_overflow_total", nil), "one per overflowing call")

	assert.True(t, m26.RemoveCollection("d", "a"))
	assert.False(t, m26.RemoveCollection("d", "a"), "removed already")
	assert.False(t, m26.RemoveCollection("", ""), "the empty pair stays")
	assert.False(t, m26.RemoveCollection(of, of), "the overflow pair stays")
	assert.Equal(t, 0.0, count("d", "a"))
	assert.Equal(t, 1.0, mxGet(t, reg, "grpcmetrics_collections", nil))
	call("d", "c")
	assert.Equal(t, 1.0, count("d", "c"), "the freed place is taken")
	call("d", "a")
	assert.Equal(t, 0.0, count("d", "a"), "and the limit holds again")
	assert.Equal(t, 104.0, count(of, of))
}

// TestMilvus26StatusRule checks a WithStatus rule, which says only whether
// a status fails: a failing status's code then tells retry from fail, and
// a status the rule passes is a success whatever its code.
func TestMilvus26StatusRule(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m26, err := interceptor.LegacyMilvus26(interceptor.WithReqLatency())
	require.NoError(t, err)
	install, err := interceptor.NewServer(interceptor.ServerSets{Milvus26: m26},
		interceptor.WithStatus(func(resp any) bool {
			st, _ := resp.(*commonpb.Status)
			return st.GetCode() == 8 && st.GetReason() != "fine" || st.GetCode() == 5
		}))
	require.NoError(t, err)
	require.NoError(t, install.Register(reg))
	icpt := install.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/x.Y/M"}
	for _, st := range []*commonpb.Status{{Code: 8}, {Code: 8, Reason: "fine"}, {Code: 5}, {Code: 109}} {
		_, err := icpt(context.Background(), nil, info, func(context.Context, any) (any, error) { return st, nil })
		require.NoError(t, err)
	}
	for st, want := range map[string]float64{"total": 4, "retry": 1, "fail": 1, "success": 2} {
		assert.Equal(t, want, mxGet(t, reg, "milvus_proxy_req_count", mxReq("0", "M", st, "", "")), st)
	}
}

// TestNewMilvus26Refuses checks the constructor's errors.
func TestNewMilvus26Refuses(t *testing.T) {
	tests := []struct {
		name string
		opts []interceptor.Option
		want string
	}{
		{"limit zero", []interceptor.Option{interceptor.WithCollectionLimit(0)}, "WithCollectionLimit: 0 is out of range [1, 65536]"},
		{"limit too high", []interceptor.Option{interceptor.WithCollectionLimit(interceptor.MaxCollectionLimit + 1)}, "out of range"},
		{"nil option", []interceptor.Option{nil}, "option 0 is nil"},
		{"nil status rule", []interceptor.Option{interceptor.WithStatus(nil)}, "WithStatus: nil function"},
		{"no such line", []interceptor.Option{interceptor.WithLine(interceptor.Milvus26Line(7))}, "WithLine: Milvus26Line(7) is no release line"},
		{"negative line", []interceptor.Option{interceptor.WithLine(-1)}, "WithLine: Milvus26Line(-1) is no release line"},
		{"gRPC latency on rootcoord", []interceptor.Option{interceptor.WithRootCoordDDL(), interceptor.WithGRPCLatency()}, "WithGRPCLatency: Milvus's rootcoord has no gRPC latency family"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := interceptor.LegacyMilvus26(tt.opts...)
			require.ErrorContains(t, err, "NewMilvus26")
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

// TestServerCountsMilvusV20AndMilvus26AtOnce counts one Milvus proxy into
// Milvus v2.0's counters, Milvus 2.6's and the provider's families from one
// install, over bufconn, and checks the counts of each.
func TestServerCountsMilvusV20AndMilvus26AtOnce(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := registry.New()
	require.NoError(t, m.Register(reg))
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	ic, err := interceptor.New(methods)
	require.NoError(t, err)
	sm, err := interceptor.LegacyServerMetrics()
	require.NoError(t, err)
	m26, err := interceptor.LegacyMilvus26(interceptor.WithNodeID(3), interceptor.WithReqLatency())
	require.NoError(t, err)
	install, err := interceptor.NewServer(interceptor.ServerSets{Milvus: ic, Provider: sm, Milvus26: m26},
		interceptor.WithHistogram(interceptor.Histogram{}))
	require.NoError(t, err)
	require.NoError(t, install.Register(reg))
	cli := mxServe(t, install.UnaryServerInterceptor(), func(gs *grpc.Server) { require.NoError(t, sm.Init(gs)) })

	const ok, fail, retry, errs, panics = 20, 6, 4, 3, 2
	var wg sync.WaitGroup
	for name, n := range map[string]int{"ok": ok, "fail": fail, "retry8": retry, "error": errs, "panic": panics} {
		for range n {
			wg.Go(func() {
				//nolint:errcheck // the outcomes are counted, not returned
				cli.CreateCollection(context.Background(), &milvuspb.CreateCollectionRequest{CollectionName: name})
			})
		}
	}
	wg.Wait()
	const total = ok + fail + retry + errs + panics
	// Milvus v2.0: fail for every failing status, error and panic.
	vec := m.Proxy.CreateCollectionCounter
	assert.Equal(t, float64(total), mxCounter(t, vec, registry.TotalLabel))
	assert.Equal(t, float64(ok), mxCounter(t, vec, registry.SuccessLabel))
	assert.Equal(t, float64(fail+retry+errs+panics), mxCounter(t, vec, registry.FailLabel))
	// Milvus 2.6, per collection name (db_name "default": none was given).
	for name, want := range map[string][2]any{"ok": {ok, "success"}, "fail": {fail, "fail"}, "retry8": {retry, "retry"}, "error": {errs, "rejected"}, "panic": {panics, "rejected"}} {
		assert.Equal(t, float64(want[0].(int)), mxGet(t, reg, "milvus_proxy_req_count", mxReq("3", "CreateCollection", "total", "default", name)), name)
		assert.Equal(t, float64(want[0].(int)), mxGet(t, reg, "milvus_proxy_req_count", mxReq("3", "CreateCollection", want[1].(string), "default", name)), name)
	}
	assert.Equal(t, float64(ok), mxGet(t, reg, "milvus_proxy_req_latency", map[string]string{"function_name": "CreateCollection"}))
	// The provider's families, and the install's histogram once per call.
	create := map[string]string{"grpc_method": "CreateCollection"}
	assert.Equal(t, float64(total), mxGet(t, reg, "grpc_server_started_total", create))
	assert.Equal(t, float64(total), mxGet(t, reg, "grpc_server_handling_seconds", create))
	assert.Equal(t, float64(fail+retry), mxGet(t, reg, "grpcmetrics_server_response_failed_total", create))
}

func mxCounter(t *testing.T, vec *prometheus.CounterVec, status string) float64 {
	t.Helper()
	c, err := vec.GetMetricWithLabelValues(status)
	require.NoError(t, err)
	return mxValue(t, c)
}

func mxValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 1)
	return mfs[0].GetMetric()[0].GetCounter().GetValue()
}

// TestMilvus26AllocatesNothing checks the warm unary path of one install of
// Milvus v2.0's counters, Milvus 2.6's and the provider's families,
// latency on, over 100 collections in 10 databases, for zero allocations,
// and of a request whose database comes from the default.
func TestMilvus26AllocatesNothing(t *testing.T) {
	m := registry.New()
	require.NoError(t, m.Register(prometheus.NewRegistry()))
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	ic, err := interceptor.New(methods)
	require.NoError(t, err)
	sm, err := interceptor.LegacyServerMetrics()
	require.NoError(t, err)
	m26, err := interceptor.LegacyMilvus26(interceptor.WithReqLatency())
	require.NoError(t, err)
	install, err := interceptor.NewServer(interceptor.ServerSets{Milvus: ic, Provider: sm, Milvus26: m26},
		interceptor.WithHistogram(interceptor.Histogram{}))
	require.NoError(t, err)
	gs := grpc.NewServer()
	milvuspb.RegisterMilvusServiceServer(gs, mxMilvus{})
	require.NoError(t, sm.Init(gs))

	icpt := install.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.milvus.MilvusService/HasCollection"}
	resp := &milvuspb.BoolResponse{Status: &commonpb.Status{}}
	handler := func(context.Context, any) (any, error) { return resp, nil }
	ctx := context.Background()
	var reqs []*milvuspb.HasCollectionRequest
	for i := range 100 {
		reqs = append(reqs, &milvuspb.HasCollectionRequest{DbName: fmt.Sprintf("db%d", i%10), CollectionName: fmt.Sprintf("c%d", i)})
	}
	reqs = append(reqs, &milvuspb.HasCollectionRequest{CollectionName: "c0"}) // db "default"
	for _, req := range reqs {
		_, _ = icpt(ctx, req, info, handler) //nolint:errcheck // warm
	}
	i := 0
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		_, _ = icpt(ctx, reqs[i%len(reqs)], info, handler) //nolint:errcheck // measured
		i++
	}))
}

// A Milvus26 counts every method as Milvus 2.6's proxy counts its requests.
// Here its interceptor is called directly, as gRPC would call it, with a
// request that names no database and metadata that does.
func ExampleNewMilvus26() {
	reg := prometheus.NewRegistry()
	m26, err := interceptor.LegacyMilvus26(interceptor.WithNodeID(12), interceptor.WithReqLatency())
	if err != nil {
		panic(err)
	}
	if err := m26.Register(reg); err != nil {
		panic(err)
	}
	icpt := m26.UnaryServerInterceptor()
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("dbname", "shop"))
	info := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.milvus.MilvusService/HasCollection"}
	req := &milvuspb.HasCollectionRequest{CollectionName: "books"}
	for _, code := range []int32{0, 8} { // success, then rate limited
		handler := func(context.Context, any) (any, error) {
			return &milvuspb.BoolResponse{Status: &commonpb.Status{Code: code}}, nil
		}
		if _, err := icpt(ctx, req, info, handler); err != nil {
			panic(err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "milvus_proxy_req_count" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range mt.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			fmt.Println(labels["node_id"], labels["function_name"], labels["db_name"], labels["collection_name"],
				labels["status"], mt.GetCounter().GetValue())
		}
	}
	// Output:
	// 12 HasCollection shop books retry 1
	// 12 HasCollection shop books success 1
	// 12 HasCollection shop books total 2
}

// mxPanicky is a request whose getter panics.
type mxPanicky struct{}

func (mxPanicky) GetCollectionName() string { panic("mxPanicky: a bug") }

// TestMilvus26Panics checks the panics of our side: a request's getter
// that panics counts the call under the pair ("", ""), a status rule that
// panics counts it as fail, and neither reaches the caller; a handler's
// panic is rejected and goes on.
func TestMilvus26Panics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m26, err := interceptor.LegacyMilvus26(interceptor.WithStatus(func(any) bool { panic("rule") }))
	require.NoError(t, err)
	require.NoError(t, m26.Register(reg))
	icpt := m26.UnaryServerInterceptor()
	ctx := context.Background()
	ok := func(context.Context, any) (any, error) { return "resp", nil }

	resp, err := icpt(ctx, mxPanicky{}, &grpc.UnaryServerInfo{FullMethod: "/x.Y/Getter"}, ok)
	require.NoError(t, err)
	assert.Equal(t, "resp", resp)
	assert.Panics(t, func() {
		//nolint:errcheck // panics
		icpt(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/x.Y/Handler"}, func(context.Context, any) (any, error) { panic("handler") })
	})
	for _, tt := range []struct{ fn, status string }{{"Getter", "total"}, {"Getter", "fail"}, {"Handler", "total"}, {"Handler", "rejected"}} {
		assert.Equal(t, 1.0, mxGet(t, reg, "milvus_proxy_req_count", mxReq("0", tt.fn, tt.status, "", "")), tt)
	}
	assert.Equal(t, 4, mxSeries(t, reg, "milvus_proxy_req_count"))
	assert.Zero(t, mxSeries(t, reg, "milvus_proxy_req_latency"), "without WithReqLatency there is no latency family")
}

// TestMilvus26CountsNoStream checks that stream calls pass a Server that
// holds Milvus26 alone uncounted, as Milvus counts no stream.
func TestMilvus26CountsNoStream(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m26, err := interceptor.LegacyMilvus26(interceptor.WithReqLatency())
	require.NoError(t, err)
	install, err := interceptor.NewServer(interceptor.ServerSets{Milvus26: m26}, interceptor.WithHistogram(interceptor.Histogram{}))
	require.NoError(t, err)
	require.NoError(t, install.Register(reg))
	ran := false
	err = install.StreamServerInterceptor()(nil, nil, &grpc.StreamServerInfo{FullMethod: "/x.Y/S", IsServerStream: true},
		func(any, grpc.ServerStream) error { ran = true; return nil })
	require.NoError(t, err)
	assert.True(t, ran)
	assert.Zero(t, mxSeries(t, reg, "milvus_proxy_req_count"))
	assert.Zero(t, mxSeries(t, reg, "grpc_server_handling_seconds"))
}

// TestMilvus26RemovesUnderLoad removes collections while calls count into
// them, for the race detector, and checks that the limit holds after.
func TestMilvus26RemovesUnderLoad(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m26, err := interceptor.LegacyMilvus26(interceptor.WithCollectionLimit(8), interceptor.WithReqLatency())
	require.NoError(t, err)
	require.NoError(t, m26.Register(reg))
	icpt := m26.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/x.Y/M"}
	ok := func(context.Context, any) (any, error) { return nil, nil }
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				//nolint:errcheck // counted
				icpt(context.Background(), mxNamed{"d", fmt.Sprint((g + i) % 12)}, info, ok)
			}
		})
	}
	wg.Go(func() {
		for i := range 500 {
			m26.RemoveCollection("d", fmt.Sprint(i%12))
		}
	})
	wg.Wait()
	assert.LessOrEqual(t, mxGet(t, reg, "grpcmetrics_collections", nil), 8.0)
	for i := range 12 {
		m26.RemoveCollection("d", fmt.Sprint(i))
	}
	assert.Zero(t, mxGet(t, reg, "grpcmetrics_collections", nil))
	// Only the overflow pair's series are left.
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "milvus_proxy_req_count" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == "collection_name" {
					assert.Equal(t, interceptor.OverflowCollectionLabel, lp.GetValue())
				}
			}
		}
	}
}

// TestMilvus26BeforeProviderInit counts calls into a Server of Milvus26 and
// the provider's families before and after the provider's Init: Milvus26
// counts every call under the method's name, the provider's families count
// the calls before Init under "unknown".
func TestMilvus26BeforeProviderInit(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m26, err := interceptor.LegacyMilvus26(interceptor.WithReqLatency())
	require.NoError(t, err)
	sm, err := interceptor.LegacyServerMetrics()
	require.NoError(t, err)
	install, err := interceptor.NewServer(interceptor.ServerSets{Provider: sm, Milvus26: m26}, interceptor.WithHistogram(interceptor.Histogram{}))
	require.NoError(t, err)
	require.NoError(t, install.Register(reg))
	icpt := install.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.milvus.MilvusService/HasCollection"}
	ok := func(context.Context, any) (any, error) { return &milvuspb.BoolResponse{}, nil }
	req := &milvuspb.HasCollectionRequest{DbName: "d", CollectionName: "c"}
	_, err = icpt(context.Background(), req, info, ok)
	require.NoError(t, err)
	gs := grpc.NewServer()
	milvuspb.RegisterMilvusServiceServer(gs, mxMilvus{})
	require.NoError(t, sm.Init(gs))
	_, err = icpt(context.Background(), req, info, ok)
	require.NoError(t, err)

	assert.Equal(t, 2.0, mxGet(t, reg, "milvus_proxy_req_count", mxReq("0", "HasCollection", "success", "d", "c")))
	assert.Equal(t, 1.0, mxGet(t, reg, "grpc_server_started_total", map[string]string{"grpc_method": "unknown"}))
	assert.Equal(t, 1.0, mxGet(t, reg, "grpc_server_started_total", map[string]string{"grpc_method": "HasCollection"}))
	assert.Equal(t, 1.0, mxGet(t, reg, "grpc_server_handling_seconds", map[string]string{"grpc_method": "unknown"}))
	assert.Equal(t, 1.0, mxGet(t, reg, "grpc_server_handling_seconds", map[string]string{"grpc_method": "HasCollection"}))
}
