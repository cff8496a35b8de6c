package a66

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// arNoop is a stats handler that does nothing: the cost of the events
// grpc-go builds for any stats handler.
type arNoop struct{}

func (arNoop) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (arNoop) HandleRPC(context.Context, stats.RPCStats)                         {}
func (arNoop) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (arNoop) HandleConn(context.Context, stats.ConnStats)                       {}

// arInstall is what one side of a benchmark installs: server options (and
// a hook run with the server once its services are registered), or dial
// options.
type arInstall struct {
	name   string
	server func(testing.TB) ([]grpc.ServerOption, func(*grpc.Server))
	client func(testing.TB) []grpc.DialOption
}

// arInstalls are the installs compared: none, a stats handler that does
// nothing, grpc-go's plugin, and ours.
func arInstalls() []arInstall {
	return []arInstall{
		{
			name:   "none",
			server: func(testing.TB) ([]grpc.ServerOption, func(*grpc.Server)) { return nil, nil },
			client: func(testing.TB) []grpc.DialOption { return nil },
		},
		{
			name: "noop",
			server: func(testing.TB) ([]grpc.ServerOption, func(*grpc.Server)) {
				return []grpc.ServerOption{grpc.StatsHandler(arNoop{})}, nil
			},
			client: func(testing.TB) []grpc.DialOption { return []grpc.DialOption{grpc.WithStatsHandler(arNoop{})} },
		},
		{
			name: "plugin",
			server: func(tb testing.TB) ([]grpc.ServerOption, func(*grpc.Server)) {
				return []grpc.ServerOption{newArPlugin(tb).ServerOption()}, nil
			},
			client: func(tb testing.TB) []grpc.DialOption { return []grpc.DialOption{newArPlugin(tb).DialOption()} },
		},
		{
			name: "ours",
			server: func(tb testing.TB) ([]grpc.ServerOption, func(*grpc.Server)) {
				server, _ := newArA66(tb)
				return server.ServerOptions(), func(srv *grpc.Server) {
					if err := server.Init(srv); err != nil {
						tb.Fatal(err)
					}
				}
			},
			client: func(tb testing.TB) []grpc.DialOption { _, client := newArA66(tb); return client.DialOptions() },
		},
	}
}

// newArA66 builds our A66 set in a server and a client install,
// registered on a registry of their own.
func newArA66(tb testing.TB) (*interceptor.ServerInstall, *interceptor.ClientInstall) {
	tb.Helper()
	a, err := interceptor.NewA66()
	if err != nil {
		tb.Fatal(err)
	}
	server, err := interceptor.NewServerInstall(interceptor.ServerSets{A66: a})
	if err != nil {
		tb.Fatal(err)
	}
	client, err := interceptor.NewClientInstall(interceptor.ClientSets{A66: a})
	if err != nil {
		tb.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := server.Register(reg); err != nil {
		tb.Fatal(err)
	}
	if err := client.Register(reg); err != nil {
		tb.Fatal(err)
	}
	return server, client
}

// arUnaryOnce sends one successful UnaryCall.
func arUnaryOnce(ctx context.Context, c testpb.TestServiceClient) error {
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("hello")}})
	return err
}

// arStreamOnce runs one FullDuplexCall of msgs messages each way.
func arStreamOnce(ctx context.Context, c testpb.TestServiceClient, msgs int) error {
	bs, err := c.FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	req := &testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("ping")}}
	for range msgs {
		if err := bs.Send(req); err != nil {
			return err
		}
		if _, err := bs.Recv(); err != nil {
			return err
		}
	}
	if err := bs.CloseSend(); err != nil {
		return err
	}
	if _, err := bs.Recv(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("stream ended with %v, not io.EOF", err)
	}
	return nil
}

// BenchmarkArCost measures, in one run over bufconn, one side instrumented
// and the other bare: a unary call, a stream of one message each way and a
// stream of 16. The allocations per operation of each install, less the
// no-op handler's, are the cost of its counting; the 16-message stream
// less the one-message stream, divided by 15, is the cost per message.
func BenchmarkArCost(b *testing.B) {
	kinds := []struct {
		name string
		run  func(context.Context, testpb.TestServiceClient) error
	}{
		{"unary", arUnaryOnce},
		{"stream1", func(ctx context.Context, c testpb.TestServiceClient) error { return arStreamOnce(ctx, c, 1) }},
		{"stream16", func(ctx context.Context, c testpb.TestServiceClient) error { return arStreamOnce(ctx, c, 16) }},
	}
	for _, side := range []string{"server", "client"} {
		for _, in := range arInstalls() {
			for _, k := range kinds {
				b.Run(fmt.Sprintf("side=%s/install=%s/%s", side, in.name, k.name), func(b *testing.B) {
					var (
						sopts []grpc.ServerOption
						init  func(*grpc.Server)
						dopts []grpc.DialOption
					)
					if side == "server" {
						sopts, init = in.server(b)
					} else {
						dopts = in.client(b)
					}
					s := newArStack(b, init, sopts, dopts)
					b.Cleanup(func() { s.stop(b) })
					c := testpb.NewTestServiceClient(s.conn)
					ctx := b.Context()
					if err := k.run(ctx, c); err != nil { // connect outside the measure
						b.Fatal(err)
					}
					b.ReportAllocs()
					for b.Loop() {
						if err := k.run(ctx, c); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
