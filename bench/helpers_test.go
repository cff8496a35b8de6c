package bench

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/milvustype"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

const (
	rcMethod       = "/milvus.proto.rootcoord.RootCoord/DescribeCollection"
	proxyMethod    = "/milvus.proto.milvus.MilvusService/DescribeCollection"
	unmappedMethod = "/milvus.proto.query.QueryCoord/ShowCollections"
)

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
		interceptor.WithStatusFunc(milvustype.StatusOf),
		interceptor.WithSourceIDFunc(milvustype.SourceIDOf),
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

// registrar keeps the descriptor that Interceptor.Registrar passes on.
type registrar struct{ desc *grpc.ServiceDesc }

func (r *registrar) RegisterService(desc *grpc.ServiceDesc, _ any) { r.desc = desc }

// registeredHandler registers a one-method service through ic.Registrar and
// returns the handler it wraps. The inner handler is shaped like
// protoc-gen-go-grpc's, but decodes into one reused request so that it
// allocates nothing itself, and answers resp.
func registeredHandler(tb testing.TB, ic *interceptor.Interceptor, service, method string, resp any) grpc.MethodHandler {
	tb.Helper()
	in := &milvuspb.DescribeCollectionRequest{}
	var r registrar
	ic.Registrar(&r).RegisterService(&grpc.ServiceDesc{
		ServiceName: service,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: method, Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(in); err != nil {
				return nil, err
			}
			return resp, nil
		}}},
	}, nil)
	if r.desc == nil {
		tb.Fatal("nothing registered")
	}
	return r.desc.Methods[0].Handler
}
