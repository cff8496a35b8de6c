package zaplog

import (
	"context"
	"fmt"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"go.uber.org/zap"
)

// Logger returns a [logging.Logger] that writes to l. The interceptors pass
// fields as alternating keys and values; a key that is not a string is
// printed with fmt.
func Logger(l *zap.Logger) logging.Logger {
	return logging.LoggerFunc(func(_ context.Context, lvl logging.Level, msg string, fields ...any) {
		zf := make([]zap.Field, 0, len(fields)/2)
		for i := 0; i+1 < len(fields); i += 2 {
			key, ok := fields[i].(string)
			if !ok {
				key = fmt.Sprint(fields[i])
			}
			zf = append(zf, zap.Any(key, fields[i+1]))
		}
		switch lvl {
		case logging.LevelDebug:
			l.Debug(msg, zf...)
		case logging.LevelInfo:
			l.Info(msg, zf...)
		case logging.LevelWarn:
			l.Warn(msg, zf...)
		default:
			l.Error(msg, zf...)
		}
	})
}
