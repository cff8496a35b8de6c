package recoverylog

import (
	"context"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Message is the message of the [codes.Internal] error a client receives
// for a call whose handler panicked.
const Message = "internal error"

// LogMessage is the message of the log entry for a panic.
const LogMessage = "handler panic"

// Handler returns a recovery handler that logs a panic through logger at
// error level, as [LogMessage] with the fields grpc_method (the call's full
// method name), panic (the value) and stack (the panicking goroutine's
// stack), and returns a [codes.Internal] error with [Message]. A nil logger
// logs nothing.
func Handler(logger *zap.Logger) recovery.RecoveryHandlerFuncContext {
	if logger == nil {
		logger = zap.NewNop()
	}
	return func(ctx context.Context, p any) error {
		method, _ := grpc.Method(ctx) // "" outside a call, which the log shows as such
		logger.Error(LogMessage, zap.String("grpc_method", method), zap.Any("panic", p), zap.Stack("stack"))
		return status.Error(codes.Internal, Message)
	}
}

// Option is [recovery.WithRecoveryHandlerContext] with [Handler](logger), for
// [recovery.UnaryServerInterceptor] and [recovery.StreamServerInterceptor].
func Option(logger *zap.Logger) recovery.Option {
	return recovery.WithRecoveryHandlerContext(Handler(logger))
}
