package zaplog_test

import (
	"context"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/grpcmetrics/grpcmetrics/examples/internal/zaplog"
)

func TestLogger(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := zaplog.Logger(zap.New(core))
	for _, lvl := range []logging.Level{logging.LevelDebug, logging.LevelInfo, logging.LevelWarn, logging.LevelError} {
		l.Log(context.Background(), lvl, "finished call", "grpc.code", "OK", 7, "odd key", "dangling")
	}
	entries := logs.All()
	require.Len(t, entries, 4)
	assert.Equal(t, []zapcore.Level{zapcore.DebugLevel, zapcore.InfoLevel, zapcore.WarnLevel, zapcore.ErrorLevel},
		[]zapcore.Level{entries[0].Level, entries[1].Level, entries[2].Level, entries[3].Level})
	fields := entries[0].ContextMap()
	assert.Equal(t, "OK", fields["grpc.code"])
	assert.Equal(t, "odd key", fields["7"])
	assert.Len(t, fields, 2, "a key without a value is dropped")
}
