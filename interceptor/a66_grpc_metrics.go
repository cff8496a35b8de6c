package interceptor

import (
	"google.golang.org/grpc/stats"

	"github.com/grpcmetrics/grpcmetrics/interceptor/internal/grpcrecorder"
)

// a66Recording is a stats handler of A66 that is also grpc-go's metrics
// recorder, which grpc-go finds by asserting the interface on each stats
// handler of a channel or server.
type a66Recording struct {
	stats.Handler
	*grpcrecorder.Recorder
}

// withRecorder returns h, made a metrics recorder too when the A66 has
// WithGRPCMetrics.
func (a *A66) withRecorder(h stats.Handler) stats.Handler {
	if a.grpc == nil {
		return h
	}
	return &a66Recording{Handler: h, Recorder: a.grpc}
}
