package generic

import (
	"context"
	"io"
	"testing"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

const (
	// unaryMethod is a RootCoord method of the Milvus table (counted per
	// client_id by the Interceptor) and a registered method for
	// ServerMetrics.
	unaryMethod = "/milvus.proto.rootcoord.RootCoord/DescribeCollection"
	// streamMethod is a bidi method registered for ServerMetrics.
	streamMethod = "/bench.Chat/Chat"
)

var (
	sinkResp any
	sinkErr  error

	req = &milvuspb.DescribeCollectionRequest{
		Base:           &commonpb.MsgBase{MsgType: commonpb.MsgType_DescribeCollection, SourceID: 1},
		CollectionName: "c",
	}
	resp = &milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{}, CollectionName: "c"}
)

// buckets are every histogram's buckets, on both sides, in both libraries.
var buckets = interceptor.DefaultBuckets()

// services is the ServiceInfoProvider that ServerMetrics.Init reads: the
// unary method and the bidi stream.
type services struct{}

func (services) GetServiceInfo() map[string]grpc.ServiceInfo {
	return map[string]grpc.ServiceInfo{
		"milvus.proto.rootcoord.RootCoord": {Methods: []grpc.MethodInfo{{Name: "DescribeCollection"}}},
		"bench.Chat":                       {Methods: []grpc.MethodInfo{{Name: "Chat", IsClientStream: true, IsServerStream: true}}},
	}
}

func providerServer(b *testing.B) *grpcprom.ServerMetrics {
	sm := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(buckets)))
	prometheus.NewRegistry().MustRegister(sm)
	return sm
}

// serverInstall builds an install of sets with opts, initialised with
// services and registered on a registry of its own.
func serverInstall(tb testing.TB, sets interceptor.ServerSets, opts ...interceptor.InstallOption) *interceptor.ServerInstall {
	install, err := interceptor.NewServerInstall(sets, opts...)
	require.NoError(tb, err)
	require.NoError(tb, install.Init(services{}))
	require.NoError(tb, install.Register(prometheus.NewRegistry()))
	return install
}

// grpcmetricsServer is the provider's server families, histogram on, in
// an install with opts.
func grpcmetricsServer(b *testing.B, opts ...interceptor.InstallOption) *interceptor.ServerInstall {
	sm, err := interceptor.NewServerMetrics()
	require.NoError(b, err)
	return serverInstall(b, interceptor.ServerSets{Provider: sm}, append([]interceptor.InstallOption{interceptor.WithHistogram(interceptor.Histogram{Buckets: buckets})}, opts...)...)
}

func milvusInterceptor(b *testing.B) *interceptor.ServerInstall {
	m := registry.New()
	reg := prometheus.NewRegistry()
	require.NoError(b, m.Register(reg))
	mm, err := methodmap.Default(m)
	require.NoError(b, err)
	ic, err := interceptor.NewMilvusCounters(mm)
	require.NoError(b, err)
	return serverInstall(b, interceptor.ServerSets{Milvus: ic}, interceptor.WithHistogram(interceptor.Histogram{Buckets: buckets}))
}

func providerClient(b *testing.B, histogram bool) *grpcprom.ClientMetrics {
	var opts []grpcprom.ClientMetricsOption
	if histogram {
		opts = append(opts, grpcprom.WithClientHandlingTimeHistogram(grpcprom.WithHistogramBuckets(buckets)))
	}
	cm := grpcprom.NewClientMetrics(opts...)
	prometheus.NewRegistry().MustRegister(cm)
	return cm
}

func grpcmetricsClient(b *testing.B, histogram bool) *interceptor.ClientInstall {
	var opts []interceptor.InstallOption
	if histogram {
		opts = append(opts, interceptor.WithHistogram(interceptor.Histogram{Buckets: buckets}))
	}
	cm, err := interceptor.NewClientMetrics()
	require.NoError(b, err)
	install, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm}, opts...)
	require.NoError(b, err)
	require.NoError(b, install.Register(prometheus.NewRegistry()))
	return install
}

func handler(context.Context, any) (any, error) { return resp, nil }

func invoker(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
	return nil
}

// nopServerStream is a grpc.ServerStream whose messages go nowhere. The
// benchmarks build one per benchmark and pass the pointer, so the fake
// costs no allocation per stream.
type nopServerStream struct{ ctx context.Context }

func (*nopServerStream) SetHeader(metadata.MD) error  { return nil }
func (*nopServerStream) SendHeader(metadata.MD) error { return nil }
func (*nopServerStream) SetTrailer(metadata.MD)       {}
func (s *nopServerStream) Context() context.Context   { return s.ctx }
func (*nopServerStream) SendMsg(any) error            { return nil }
func (*nopServerStream) RecvMsg(any) error            { return nil }

// nopClientStream is a grpc.ClientStream whose messages go nowhere;
// RecvMsg returns recvErr. Like nopServerStream, one per benchmark.
type nopClientStream struct {
	ctx     context.Context
	recvErr error
}

func (*nopClientStream) Header() (metadata.MD, error) { return nil, nil }
func (*nopClientStream) Trailer() metadata.MD         { return nil }
func (*nopClientStream) CloseSend() error             { return nil }
func (s *nopClientStream) Context() context.Context   { return s.ctx }
func (*nopClientStream) SendMsg(any) error            { return nil }
func (s *nopClientStream) RecvMsg(any) error          { return s.recvErr }

var (
	chatInfo = &grpc.StreamServerInfo{FullMethod: streamMethod, IsClientStream: true, IsServerStream: true}
	chatDesc = &grpc.StreamDesc{StreamName: "Chat", ClientStreams: true, ServerStreams: true}
)

// BenchmarkGeneric measures issue 9's cases, grpcmetrics against
// go-grpc-middleware's provider, each interceptor called directly.
func BenchmarkGeneric(b *testing.B) {
	ctx := context.Background()

	// unary-server-histogram: one unary call through the server
	// interceptor, handling-time histogram on (same buckets) in all three.
	unaryServer := func(b *testing.B, icpt grpc.UnaryServerInterceptor) {
		info := &grpc.UnaryServerInfo{FullMethod: unaryMethod}
		sinkResp, sinkErr = icpt(ctx, req, info, handler) // resolve series and caches first
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			sinkResp, sinkErr = icpt(ctx, req, info, handler)
		}
	}
	b.Run("unary-server-histogram/provider", func(b *testing.B) {
		unaryServer(b, providerServer(b).UnaryServerInterceptor())
	})
	b.Run("unary-server-histogram/grpcmetrics-ServerMetrics", func(b *testing.B) {
		unaryServer(b, grpcmetricsServer(b).UnaryServerInterceptor())
	})
	b.Run("unary-server-histogram/grpcmetrics-ServerMetrics-MilvusStatus", func(b *testing.B) {
		sm := grpcmetricsServer(b, interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()))
		unaryServer(b, sm.UnaryServerInterceptor())
	})
	b.Run("unary-server-histogram/grpcmetrics-Interceptor", func(b *testing.B) {
		unaryServer(b, milvusInterceptor(b).UnaryServerInterceptor())
	})

	// unary-server-counters: the same call with the histogram off in both,
	// for scale: grpcmetrics then reads no clock; the provider still does.
	b.Run("unary-server-counters/provider", func(b *testing.B) {
		sm := grpcprom.NewServerMetrics()
		prometheus.NewRegistry().MustRegister(sm)
		unaryServer(b, sm.UnaryServerInterceptor())
	})
	b.Run("unary-server-counters/grpcmetrics-ServerMetrics", func(b *testing.B) {
		sm, err := interceptor.NewServerMetrics()
		require.NoError(b, err)
		unaryServer(b, serverInstall(b, interceptor.ServerSets{Provider: sm}).UnaryServerInterceptor())
	})

	// unary-client-*: one unary call through the client interceptor, with
	// a no-op invoker, histogram off (counters) and on.
	unaryClient := func(b *testing.B, icpt grpc.UnaryClientInterceptor) {
		reply := &milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{}}
		sinkErr = icpt(ctx, unaryMethod, req, reply, nil, invoker)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			sinkErr = icpt(ctx, unaryMethod, req, reply, nil, invoker)
		}
	}
	for _, hist := range []bool{false, true} {
		name := "unary-client-counters"
		if hist {
			name = "unary-client-histogram"
		}
		b.Run(name+"/provider", func(b *testing.B) {
			unaryClient(b, providerClient(b, hist).UnaryClientInterceptor())
		})
		b.Run(name+"/grpcmetrics", func(b *testing.B) {
			unaryClient(b, grpcmetricsClient(b, hist).UnaryClientInterceptor())
		})
	}

	// stream-server-{send,recv}: one message through the stream that the
	// server interceptor hands the handler; the loop runs inside the
	// handler, so each op is one message.
	serverMsg := func(b *testing.B, icpt grpc.StreamServerInterceptor, send bool) {
		ss := &nopServerStream{ctx}
		sinkErr = icpt(nil, ss, chatInfo, func(_ any, s grpc.ServerStream) error {
			msg := &milvuspb.DescribeCollectionRequest{}
			op := s.RecvMsg
			if send {
				op = s.SendMsg
			}
			if err := op(msg); err != nil { // resolve the series first
				return err
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				sinkErr = op(msg)
			}
			return nil
		})
	}
	for _, send := range []bool{true, false} {
		name := "stream-server-recv-msg"
		if send {
			name = "stream-server-send-msg"
		}
		b.Run(name+"/provider", func(b *testing.B) {
			serverMsg(b, providerServer(b).StreamServerInterceptor(), send)
		})
		b.Run(name+"/grpcmetrics", func(b *testing.B) {
			serverMsg(b, grpcmetricsServer(b).StreamServerInterceptor(), send)
		})
	}

	// stream-client-{send,recv}: one message through the stream that the
	// client interceptor returns (histogram on in both).
	clientMsg := func(b *testing.B, icpt grpc.StreamClientInterceptor, send bool) {
		fake := &nopClientStream{ctx: ctx}
		streamer := func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, ...grpc.CallOption) (grpc.ClientStream, error) {
			return fake, nil
		}
		cs, err := icpt(ctx, chatDesc, nil, streamMethod, streamer)
		require.NoError(b, err)
		msg := &milvuspb.DescribeCollectionResponse{}
		op := cs.RecvMsg
		if send {
			op = cs.SendMsg
		}
		sinkErr = op(msg)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			sinkErr = op(msg)
		}
	}
	for _, send := range []bool{true, false} {
		name := "stream-client-recv-msg"
		if send {
			name = "stream-client-send-msg"
		}
		b.Run(name+"/provider", func(b *testing.B) {
			clientMsg(b, providerClient(b, true).StreamClientInterceptor(), send)
		})
		b.Run(name+"/grpcmetrics", func(b *testing.B) {
			clientMsg(b, grpcmetricsClient(b, true).StreamClientInterceptor(), send)
		})
	}

	// stream-server-stream: one whole bidi stream with no messages:
	// started, the handler, handled and the histogram's observation.
	serverStream := func(b *testing.B, icpt grpc.StreamServerInterceptor) {
		ss := &nopServerStream{ctx}
		h := func(any, grpc.ServerStream) error { return nil }
		sinkErr = icpt(nil, ss, chatInfo, h)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			sinkErr = icpt(nil, ss, chatInfo, h)
		}
	}
	b.Run("stream-server-stream/provider", func(b *testing.B) {
		serverStream(b, providerServer(b).StreamServerInterceptor())
	})
	b.Run("stream-server-stream/grpcmetrics", func(b *testing.B) {
		serverStream(b, grpcmetricsServer(b).StreamServerInterceptor())
	})

	// stream-client-stream: one whole bidi stream with no messages: opened
	// through the client interceptor and ended by the RecvMsg that returns
	// io.EOF.
	clientStream := func(b *testing.B, icpt grpc.StreamClientInterceptor) {
		fake := &nopClientStream{ctx: ctx, recvErr: io.EOF}
		streamer := func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, ...grpc.CallOption) (grpc.ClientStream, error) {
			return fake, nil
		}
		msg := &milvuspb.DescribeCollectionResponse{}
		run := func() {
			cs, err := icpt(ctx, chatDesc, nil, streamMethod, streamer)
			require.NoError(b, err)
			sinkErr = cs.RecvMsg(msg)
		}
		run()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			run()
		}
	}
	b.Run("stream-client-stream/provider", func(b *testing.B) {
		clientStream(b, providerClient(b, true).StreamClientInterceptor())
	})
	b.Run("stream-client-stream/grpcmetrics", func(b *testing.B) {
		clientStream(b, grpcmetricsClient(b, true).StreamClientInterceptor())
	})
}
