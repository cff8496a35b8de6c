package interceptor_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// m26LinesInstall returns a server install of m26 alone with opts,
// registered on reg.
func m26LinesInstall(t *testing.T, m26 *interceptor.Milvus26, reg prometheus.Registerer, opts ...interceptor.InstallOption) *interceptor.ServerInstall {
	t.Helper()
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus26: m26}, opts...)
	require.NoError(t, err)
	require.NoError(t, install.Register(reg))
	return install
}

// TestMilvus26LineNames checks each line's name and the zero value.
func TestMilvus26LineNames(t *testing.T) {
	var zero interceptor.Milvus26Line
	assert.Equal(t, interceptor.MilvusV2616, zero, "the default line")
	for l, want := range map[interceptor.Milvus26Line]string{
		interceptor.MilvusV2616: "v2.6.16", interceptor.MilvusV2620: "v2.6.20", interceptor.MilvusV2621: "v2.6.21",
		3: "Milvus26Line(3)",
	} {
		assert.Equal(t, want, l.String())
	}
}

// TestMilvus26LinesAllocateNothing checks the warm unary path of each line,
// with both latency histograms on, over 100 collections in 10 databases,
// for a success, a failing status, a flagged input error and a retry:
// none allocates.
func TestMilvus26LinesAllocateNothing(t *testing.T) {
	statuses := map[string]*commonpb.Status{
		"success": {}, "fail": {Code: 5}, "retry": {Code: 8}, "cancel": {Code: 10000},
	}
	for _, line := range []interceptor.Milvus26Line{interceptor.MilvusV2616, interceptor.MilvusV2620, interceptor.MilvusV2621} {
		for name, st := range statuses {
			t.Run(line.String()+"/"+name, func(t *testing.T) {
				m26, err := interceptor.NewMilvus26(interceptor.WithLine(line), interceptor.WithReqLatency(), interceptor.WithGRPCLatency())
				require.NoError(t, err)
				icpt := m26LinesInstall(t, m26, prometheus.NewRegistry()).UnaryServerInterceptor()
				info := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.milvus.MilvusService/HasCollection"}
				resp := &milvuspb.BoolResponse{Status: st}
				handler := func(context.Context, any) (any, error) { return resp, nil }
				ctx := context.Background()
				var reqs []*milvuspb.HasCollectionRequest
				for i := range 100 {
					reqs = append(reqs, &milvuspb.HasCollectionRequest{DbName: fmt.Sprintf("db%d", i%10), CollectionName: fmt.Sprintf("c%d", i)})
				}
				for _, req := range reqs {
					_, err := icpt(ctx, req, info, handler)
					require.NoError(t, err)
				}
				i := 0
				assert.Zero(t, testing.AllocsPerRun(1000, func() {
					_, _ = icpt(ctx, reqs[i%len(reqs)], info, handler) //nolint:errcheck // measured
					i++
				}))
			})
		}
	}
}

// TestMilvus26LinesWithStatusRule checks that with a [interceptor.StatusFunc]
// the cause lines still read the code of a failing status, to tell a
// cancellation and a retry from a system failure, and that a status the
// rule calls fine is a success whatever its code.
func TestMilvus26LinesWithStatusRule(t *testing.T) {
	failsOnCode := interceptor.WithStatus(func(resp any) bool {
		r, ok := resp.(*milvuspb.BoolResponse)
		return ok && r.GetStatus().GetCode() != 0
	})
	m26, err := interceptor.NewMilvus26(interceptor.WithLine(interceptor.MilvusV2621))
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	icpt := m26LinesInstall(t, m26, reg, failsOnCode).UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/p.S/M"}
	for _, st := range []*commonpb.Status{{Code: 10000}, {Code: 8}, {Code: 5}, {ErrorCode: commonpb.ErrorCode_UnexpectedError}} {
		_, err := icpt(context.Background(), nil, info, func(context.Context, any) (any, error) {
			return &milvuspb.BoolResponse{Status: st}, nil
		})
		require.NoError(t, err)
	}
	_, err = icpt(context.Background(), nil, info, func(context.Context, any) (any, error) { return nil, errors.New("plain") })
	require.Error(t, err)
	got := map[string]float64{}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "milvus_proxy_req_count" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			got[l["status"]+"/"+l["cause"]] = m.GetCounter().GetValue()
		}
	}
	assert.Equal(t, map[string]float64{
		"total/": 5, "fail/cancel": 1, "retry/": 1, "fail/system": 1, "success/": 1, "rejected/system": 1,
	}, got)
}

// On the lines since v2.6.20 the outcome of a call is a status and a
// cause: the failing status of an input error is "fail" by "user"; a
// retryable code has no cause. Here the interceptor is called directly.
func ExampleWithLine() {
	reg := prometheus.NewRegistry()
	m26, err := interceptor.NewMilvus26(interceptor.WithNodeID(12), interceptor.WithLine(interceptor.MilvusV2620))
	if err != nil {
		panic(err)
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus26: m26})
	if err != nil {
		panic(err)
	}
	if err := install.Register(reg); err != nil {
		panic(err)
	}
	icpt := install.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.milvus.MilvusService/HasCollection"}
	req := &milvuspb.HasCollectionRequest{DbName: "shop", CollectionName: "books"}
	for _, code := range []int32{0, 8, 65535} { // success, rate limited, a system failure
		handler := func(context.Context, any) (any, error) {
			return &milvuspb.BoolResponse{Status: &commonpb.Status{Code: code}}, nil
		}
		if _, err := icpt(context.Background(), req, info, handler); err != nil {
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
			fmt.Printf("status=%s cause=%s %v\n", labels["status"], labels["cause"], mt.GetCounter().GetValue())
		}
	}
	// Output:
	// status=retry cause=na 1
	// status=success cause=na 1
	// status=total cause=na 3
	// status=fail cause=system 1
}

// TestMilvus26Abandon counts abandoned requests under their pair, a
// request whose getter panics under ("", "") without the panic reaching the
// caller, and nothing on a rootcoord.
func TestMilvus26Abandon(t *testing.T) {
	m26, err := interceptor.NewMilvus26(interceptor.WithLine(interceptor.MilvusV2621))
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	m26LinesInstall(t, m26, reg)
	const method = "/milvus.proto.milvus.MilvusService/DescribeCollection"
	m26.Abandon(context.Background(), method, &milvuspb.DescribeCollectionRequest{DbName: "db", CollectionName: "c"})
	require.NotPanics(t, func() { m26.Abandon(context.Background(), method, mxPanicky{}) })
	assert.Equal(t, 1.0, mxGet(t, reg, "milvus_proxy_req_count", map[string]string{
		"node_id": "0", "function_name": "DescribeCollection", "status": "abandon", "cause": "", "db_name": "db", "collection_name": "c"}))
	assert.Equal(t, 1.0, mxGet(t, reg, "milvus_proxy_req_count", map[string]string{
		"node_id": "0", "function_name": "DescribeCollection", "status": "abandon", "cause": "", "db_name": "", "collection_name": ""}))

	rc, err := interceptor.NewMilvus26(interceptor.WithRootCoordDDL())
	require.NoError(t, err)
	rcReg := prometheus.NewPedanticRegistry()
	m26LinesInstall(t, rc, rcReg)
	rc.Abandon(context.Background(), method, &milvuspb.DescribeCollectionRequest{CollectionName: "c"})
	mfs, err := rcReg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		assert.NotEqual(t, "milvus_rootcoord_ddl_req_count", mf.GetName(), "rootcoord counts no abandon")
	}
}
