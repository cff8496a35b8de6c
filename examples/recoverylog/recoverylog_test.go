package recoverylog_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/recoverylog"
)

// secret is what the stream handler panics with: it must reach the log and
// never the client.
const secret = "secret: password=hunter2"

// TestPanicAnsweredInternal calls a panicking unary handler (the example
// proxy with the fault.Panic fault) and a panicking stream handler (an
// unknown-service handler) behind recovery with the handler, over bufconn:
// the client gets codes.Internal and Message, with neither the panic value
// nor a stack, and the server logs the panic once with its value, method
// and stack.
func TestPanicAnsweredInternal(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	logger := zap.New(core)
	srv := proxy.New().NewGRPCServer(
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(recoverylog.Option(logger))),
		grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(recoverylog.Option(logger))),
		grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error { panic(secret) }),
	)
	lis := bufconn.Listen(1 << 20)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, conn.Close())
		srv.Stop()
		if err := <-done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("serve: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	tests := []struct {
		name, method, value, frame string
		call                       func() error
	}{
		{
			name:   "unary",
			method: "/milvus.proto.milvus.MilvusService/Dummy",
			value:  "injected fault: panic",
			frame:  "examples/fault.Handle",
			call: func() error {
				_, err := milvuspb.NewMilvusServiceClient(conn).Dummy(fault.AppendToOutgoingContext(ctx, fault.Panic), &milvuspb.DummyRequest{})
				return err
			},
		},
		{
			name:   "stream",
			method: "/pr.Unknown/Call",
			value:  secret,
			frame:  "recoverylog_test.TestPanicAnsweredInternal",
			call: func() error {
				return conn.Invoke(ctx, "/pr.Unknown/Call", &milvuspb.DummyRequest{}, &milvuspb.DummyResponse{})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.TakeAll()
			err := tt.call()
			st := status.Convert(err)
			assert.Equal(t, codes.Internal, st.Code(), "%v", err)
			assert.Equal(t, recoverylog.Message, st.Message())
			for _, leak := range []string{tt.value, "panic", "goroutine", ".go:"} {
				assert.NotContains(t, err.Error(), leak)
			}

			entries := logs.FilterMessage(recoverylog.LogMessage).All()
			require.Len(t, entries, 1, "the panic is logged once, on the server")
			fields := entries[0].ContextMap()
			assert.Equal(t, tt.value, fields["panic"])
			assert.Equal(t, tt.method, fields["grpc_method"])
			assert.Contains(t, fields["stack"], tt.frame, "the stack of the panicking handler")
		})
	}
}

// TestNilLogger checks that a nil logger logs nothing and still answers
// Internal.
func TestNilLogger(t *testing.T) {
	err := recoverylog.Handler(nil)(context.Background(), "boom")
	assert.Equal(t, codes.Internal, status.Code(err))
	assert.Equal(t, recoverylog.Message, status.Convert(err).Message())
}
