package interceptor

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
)

// side is what ServerMetrics and ClientMetrics share: one side's metric
// families, and the status rule and clock that fill them.
type side struct {
	fam    *families
	status StatusFunc // nil: the default rule
	shapes shapes
	clock  *clock // nil unless WithHistogram
	logger *zap.Logger
}

// init sets up s for side name ("server" or "client") from cfg.
func (s *side) init(name string, cfg *config) {
	s.fam = newFamilies(name, cfg.histogram)
	s.status = cfg.status
	s.logger = cfg.logger
	if cfg.histogram != nil {
		s.clock = newClock(cfg.histogram, cfg.logger)
	}
}

// end counts a finished call with code c.
func (s *side) end(ctx context.Context, ms *methodSeries, c codes.Code, start time.Duration) {
	ms.handledCode(c).Inc()
	if s.clock != nil {
		s.clock.observe(ctx, ms.handling.get(), start)
	}
}

// bodyFailed applies the response-body rule. It may panic; the caller
// recovers.
func (s *side) bodyFailed(last *atomic.Pointer[shape], resp any) bool {
	if s.status != nil {
		return s.status(resp)
	}
	return s.shapes.statusFailed(last, resp)
}

// ruleFailed counts a call whose status rule panicked with p, once
// recovered: logged, its response failed, handled with code OK.
func (s *side) ruleFailed(ctx context.Context, method string, ms *methodSeries, start time.Duration, p any) {
	s.logger.Error("grpcmetrics: the status rule panicked; counting the response as failed",
		zap.String("method", method), zap.Any("panic", p))
	ms.responseFailed.get().Inc()
	s.end(ctx, ms, codes.OK, start)
}

func (s *side) describe(ch chan<- *prometheus.Desc) { s.fam.describe(ch) }

func (s *side) collect(ch chan<- prometheus.Metric) { s.fam.collect(ch) }
