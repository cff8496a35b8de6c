package interceptor_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// chatMethod is the one bidi method of chatServer.
const chatMethod = "/alloc.Chat/Chat"

// chatServer is a ServiceInfoProvider with one bidi method.
type chatServer struct{}

func (chatServer) GetServiceInfo() map[string]grpc.ServiceInfo {
	return map[string]grpc.ServiceInfo{"alloc.Chat": {Methods: []grpc.MethodInfo{
		{Name: "Chat", IsClientStream: true, IsServerStream: true},
	}}}
}

// nopServerStream is a grpc.ServerStream whose messages go nowhere.
type nopServerStream struct{ ctx context.Context }

func (nopServerStream) SetHeader(metadata.MD) error  { return nil }
func (nopServerStream) SendHeader(metadata.MD) error { return nil }
func (nopServerStream) SetTrailer(metadata.MD)       {}
func (s nopServerStream) Context() context.Context   { return s.ctx }
func (nopServerStream) SendMsg(any) error            { return nil }
func (nopServerStream) RecvMsg(any) error            { return nil }

// nopClientStream is a grpc.ClientStream whose messages go nowhere.
type nopClientStream struct{ ctx context.Context }

func (nopClientStream) Header() (metadata.MD, error) { return nil, nil }
func (nopClientStream) Trailer() metadata.MD         { return nil }
func (nopClientStream) CloseSend() error             { return nil }
func (s nopClientStream) Context() context.Context   { return s.ctx }
func (nopClientStream) SendMsg(any) error            { return nil }
func (nopClientStream) RecvMsg(any) error            { return nil }

// counterValue returns the value of family name's one series in reg.
func counterValue(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			require.Len(t, mf.GetMetric(), 1, name)
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no family %s", name)
	return 0
}

// streamAllocRuns is how many messages AllocsPerRun sends and receives
// after its warm-up run.
const streamAllocRuns = 200

// TestStreamMessagesAllocateNothing checks that a message sent or received
// on a stream wrapped by ServerMetrics or ClientMetrics allocates nothing,
// histogram off and on, and that each one is counted.
func TestStreamMessagesAllocateNothing(t *testing.T) {
	opts := map[string][]interceptor.Option{
		"counters":  nil,
		"histogram": {interceptor.WithHistogram(interceptor.Histogram{})},
	}
	for name, o := range opts {
		t.Run("server/"+name, func(t *testing.T) {
			sm, err := interceptor.LegacyServerMetrics(enServerOptions(o)...)
			require.NoError(t, err)
			require.NoError(t, sm.Init(chatServer{}))
			reg := prometheus.NewRegistry()
			require.NoError(t, sm.Register(reg))
			info := &grpc.StreamServerInfo{FullMethod: chatMethod, IsClientStream: true, IsServerStream: true}
			var sendAllocs, recvAllocs float64
			failed := false
			err = sm.StreamServerInterceptor()(nil, nopServerStream{t.Context()}, info, func(_ any, ss grpc.ServerStream) error {
				sendAllocs = testing.AllocsPerRun(streamAllocRuns, func() { failed = ss.SendMsg(nil) != nil || failed })
				recvAllocs = testing.AllocsPerRun(streamAllocRuns, func() { failed = ss.RecvMsg(nil) != nil || failed })
				return nil
			})
			require.NoError(t, err)
			require.False(t, failed, "a message failed")
			assert.Zero(t, sendAllocs, "allocations per SendMsg")
			assert.Zero(t, recvAllocs, "allocations per RecvMsg")
			assert.Equal(t, float64(streamAllocRuns+1), counterValue(t, reg, "grpc_server_msg_sent_total"))
			assert.Equal(t, float64(streamAllocRuns+1), counterValue(t, reg, "grpc_server_msg_received_total"))
		})
		t.Run("client/"+name, func(t *testing.T) {
			cm, err := interceptor.LegacyClientMetrics(cxClientOptions(o)...)
			require.NoError(t, err)
			reg := prometheus.NewRegistry()
			require.NoError(t, cm.Register(reg))
			desc := &grpc.StreamDesc{StreamName: "Chat", ClientStreams: true, ServerStreams: true}
			streamer := func(ctx context.Context, _ *grpc.StreamDesc, _ *grpc.ClientConn, _ string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
				return nopClientStream{ctx}, nil
			}
			cs, err := cm.StreamClientInterceptor()(t.Context(), desc, nil, chatMethod, streamer)
			require.NoError(t, err)
			failed := false
			sendAllocs := testing.AllocsPerRun(streamAllocRuns, func() { failed = cs.SendMsg(nil) != nil || failed })
			recvAllocs := testing.AllocsPerRun(streamAllocRuns, func() { failed = cs.RecvMsg(nil) != nil || failed })
			require.False(t, failed, "a message failed")
			assert.Zero(t, sendAllocs, "allocations per SendMsg")
			assert.Zero(t, recvAllocs, "allocations per RecvMsg")
			assert.Equal(t, float64(streamAllocRuns+1), counterValue(t, reg, "grpc_client_msg_sent_total"))
			assert.Equal(t, float64(streamAllocRuns+1), counterValue(t, reg, "grpc_client_msg_received_total"))
		})
	}
}
