package interceptor_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// TestGenericUnaryAllocatesNothing checks the warm unary paths of
// ServerMetrics and ClientMetrics, with the histogram on, for zero
// allocations.
func TestGenericUnaryAllocatesNothing(t *testing.T) {
	h := interceptor.WithHistogram(interceptor.Histogram{})
	sm, err := interceptor.LegacyServerMetrics(h)
	require.NoError(t, err)
	require.NoError(t, sm.Init(fakeServer{"a.S": {Methods: []grpc.MethodInfo{{Name: "M"}}}}))
	cm, err := interceptor.LegacyClientMetrics(h)
	require.NoError(t, err)
	ctx := context.Background()
	resp := &response{Status: &status{}}

	srv := sm.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/a.S/M"}
	handler := returns(resp, nil)
	_, _ = srv(ctx, nil, info, handler) //nolint:errcheck // warm
	assert.Zero(t, testing.AllocsPerRun(200, func() {
		_, _ = srv(ctx, nil, info, handler) //nolint:errcheck // measured
	}), "server")

	cli := cm.UnaryClientInterceptor()
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	_ = cli(ctx, "/a.S/M", nil, resp, nil, invoker) //nolint:errcheck // warm
	assert.Zero(t, testing.AllocsPerRun(200, func() {
		_ = cli(ctx, "/a.S/M", nil, resp, nil, invoker) //nolint:errcheck // measured
	}), "client")
}
