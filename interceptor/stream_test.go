package interceptor_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// fakeStream is a grpc.ServerStream with a context and nothing else.
type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f fakeStream) Context() context.Context { return f.ctx }

// TestMilvusStreams maps a streaming method to a Milvus-style counter and
// checks the stream rules: total when it opens, success or fail when it
// ends, with errors (cancellation and deadlines among them) and panics
// failing, and the client named from the context.
func TestMilvusStreams(t *testing.T) {
	const method = "/milvus.proto.rootcoord.RootCoord/Watch"
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "milvus_rootcoord_watch_total", Help: "Counter of watch"}, []string{registry.LabelClientID, registry.LabelType})
	m, err := methodmap.New(methodmap.Route{Method: method, Counter: vec, Scheme: methodmap.ClientTypeScheme})
	require.NoError(t, err)
	ic, err := interceptor.New(m,
		interceptor.WithClientID(func(ctx context.Context, _ any) interceptor.ClientID {
			v, _ := ctx.Value(traceKey{}).(string)
			return interceptor.Label(v)
		}),
		interceptor.WithHistogram(interceptor.Histogram{}),
	)
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, ic.Register(reg))
	icpt := ic.StreamServerInterceptor()
	info := &grpc.StreamServerInfo{FullMethod: method, IsServerStream: true}
	ctx := context.WithValue(context.Background(), traceKey{}, "proxy-1")
	run := func(h grpc.StreamHandler) error { return icpt(nil, fakeStream{ctx: ctx}, info, h) }

	require.NoError(t, run(func(any, grpc.ServerStream) error { return nil }))
	require.Error(t, run(func(any, grpc.ServerStream) error { return grpcstatus.Error(codes.Canceled, "client went away") }))
	require.Error(t, run(func(any, grpc.ServerStream) error { return context.DeadlineExceeded }))
	require.PanicsWithValue(t, "boom", func() {
		_ = run(func(any, grpc.ServerStream) error { panic("boom") }) //nolint:errcheck // panics
	})
	called := false
	require.NoError(t, icpt(nil, fakeStream{ctx: ctx}, &grpc.StreamServerInfo{FullMethod: "/other.S/M"}, func(any, grpc.ServerStream) error {
		called = true
		return nil
	}))
	assert.True(t, called, "unmapped streams pass through")

	assert.Equal(t, 4.0, value(vec, "proxy-1", registry.TotalLabel))
	assert.Equal(t, 1.0, value(vec, "proxy-1", registry.SuccessLabel))
	assert.Equal(t, 3.0, value(vec, "proxy-1", registry.FailLabel))
	h := histogramOf(t, reg, "grpc_server_handling_seconds")
	assert.EqualValues(t, 4, h.GetSampleCount())
	mfs := mustGather(t, reg)
	for _, mf := range mfs {
		if mf.GetName() == "grpc_server_handling_seconds" {
			require.Len(t, mf.GetMetric(), 1, "one series: the stream's type, no unary one")
			assert.Equal(t, "server_stream", labelValue(mf.GetMetric()[0], "grpc_type"))
		}
	}
}

func labelValue(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}
