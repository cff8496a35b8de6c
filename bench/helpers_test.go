package bench

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

const (
	rcMethod       = "/milvus.proto.rootcoord.RootCoord/DescribeCollection"
	proxyMethod    = "/milvus.proto.milvus.MilvusService/DescribeCollection"
	unmappedMethod = "/milvus.proto.query.QueryCoord/ShowCollections"
)

// milvusStatus is the non-generic status rule of WithStatusFunc's doc.
func milvusStatus(resp any) (failed, found bool) {
	switch r := resp.(type) {
	case *commonpb.Status:
		return r.GetErrorCode() != 0 || r.GetCode() != 0, true
	case interface{ GetStatus() *commonpb.Status }:
		s := r.GetStatus()
		return s.GetErrorCode() != 0 || s.GetCode() != 0, true
	}
	return false, false
}

// milvusSourceID is the non-generic SourceID rule of WithSourceIDFunc's doc.
func milvusSourceID(req any) (int64, bool) {
	if r, ok := req.(interface{ GetBase() *commonpb.MsgBase }); ok && r.GetBase() != nil {
		return r.GetBase().GetSourceID(), true
	}
	return 0, false
}

// modes are the three ways to configure status and SourceID detection.
var modes = []struct {
	name string
	opts []interceptor.Option
}{
	{"default", nil},
	{"generic", []interceptor.Option{
		interceptor.WithStatusType[*commonpb.Status, commonpb.ErrorCode](),
		interceptor.WithBaseType[*commonpb.MsgBase](),
	}},
	{"func", funcOpts()},
}

func funcOpts() []interceptor.Option {
	return []interceptor.Option{
		interceptor.WithStatusFunc(milvusStatus),
		interceptor.WithSourceIDFunc(milvusSourceID),
	}
}

// newGRPCMetrics builds a registry, the Milvus method map and an interceptor
// on it, all registered on a fresh Prometheus registry.
func newGRPCMetrics(tb testing.TB, opts ...interceptor.Option) (*registry.Metrics, *interceptor.Interceptor, *prometheus.Registry) {
	tb.Helper()
	m := registry.New()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		tb.Fatal(err)
	}
	mm, err := methodmap.Default(m)
	if err != nil {
		tb.Fatal(err)
	}
	ic, err := interceptor.New(mm, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	reg.MustRegister(ic)
	return m, ic, reg
}

func returns(resp any, err error) grpc.UnaryHandler {
	return func(context.Context, any) (any, error) { return resp, err }
}
