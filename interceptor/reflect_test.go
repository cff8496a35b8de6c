package interceptor_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// TestProtoreflectPath checks the default rules on generated Milvus-shaped
// messages, and that they allocate nothing once a route has seen its types.
func TestProtoreflectPath(t *testing.T) {
	m := registry.New()
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	ic, err := interceptor.New(methods)
	require.NoError(t, err)
	icpt := ic.UnaryServerInterceptor()
	ctx := context.Background()
	rcDescribe := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.rootcoord.RootCoord/DescribeCollection"}
	proxyCreate := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.milvus.MilvusService/CreateCollection"}
	dummy := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.milvus.MilvusService/Dummy"}

	tests := []struct {
		name     string
		info     *grpc.UnaryServerInfo
		req      any
		resp     any
		wantFail bool
		client   string
	}{
		{"status field ok", rcDescribe, &milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: 3}},
			&milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{}}, false, "client_3"},
		{"status field error_code", rcDescribe, &milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: 3}},
			&milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError}}, true, "client_3"},
		{"status field code", rcDescribe, &milvuspb.DescribeCollectionRequest{},
			&milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{Code: 5}}, true, registry.UnknownClientLabel},
		{"unset status field", rcDescribe, (*milvuspb.DescribeCollectionRequest)(nil),
			&milvuspb.DescribeCollectionResponse{}, false, registry.UnknownClientLabel},
		{"typed nil response", rcDescribe, &milvuspb.DescribeCollectionRequest{},
			(*milvuspb.DescribeCollectionResponse)(nil), false, registry.UnknownClientLabel},
		{"bare status ok", proxyCreate, &milvuspb.CreateCollectionRequest{}, &commonpb.Status{}, false, ""},
		{"bare status fail", proxyCreate, &milvuspb.CreateCollectionRequest{}, &commonpb.Status{Code: 1}, true, ""},
		{"no status", dummy, &milvuspb.DummyRequest{}, &milvuspb.DummyResponse{}, false, ""},
		{"response of another kind", proxyCreate, "not a proto", 42, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := methods.Lookup(tt.info.FullMethod)
			require.True(t, ok)
			labels := func(call string) []string {
				if tt.client != "" {
					return []string{tt.client, call}
				}
				return []string{call}
			}
			fail0 := value(e.Counter, labels(registry.FailLabel)...)
			h := returns(tt.resp, nil)
			_, err := icpt(ctx, tt.req, tt.info, h)
			require.NoError(t, err)
			want := 0.0
			if tt.wantFail {
				want = 1
			}
			assert.Equal(t, fail0+want, value(e.Counter, labels(registry.FailLabel)...))
			allocs := testing.AllocsPerRun(200, func() {
				_, _ = icpt(ctx, tt.req, tt.info, h) //nolint:errcheck // measured, not checked
			})
			assert.Zero(t, allocs)
		})
	}
}
