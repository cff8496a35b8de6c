package interceptor

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Parts of an install that a user who takes them one by one (rather than
// ServerOptions or DialOptions, which give them all) may leave out.
const (
	partStatsHandler = iota // the stats handler: gRPC's own metrics count nothing
	partInterceptors        // the interceptors: the other sets count nothing
	numParts
)

// incomplete reports an install whose parts are not all installed: a call
// that one part sees and the other does not counts in
// grpcmetrics_<side>_install_incomplete_total{part}, and the first of
// each part is logged at warn level. Only an install with [A66] has two
// parts that each see every call, so only such an install registers the
// counter. It also logs the first call before Init.
type incomplete struct {
	side   string
	vec    *prometheus.CounterVec
	warned [numParts]atomic.Bool
	early  atomic.Bool // a call before Init was logged
	logger *zap.Logger
}

func newIncomplete(side string, logger *zap.Logger) *incomplete {
	r := &incomplete{side: side, logger: logger}
	r.vec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "grpcmetrics_" + side + "_install_incomplete_total",
		Help: "Total number of RPCs that one part of an install saw and another did not, by the part missing: install every part (ServerOptions, DialOptions).",
	}, []string{"part"})
	return r
}

// missing counts a call of method that part did not see.
func (r *incomplete) missing(part int, method string) {
	r.vec.WithLabelValues([numParts]string{"stats_handler", "interceptors"}[part]).Inc()
	if r.warned[part].CompareAndSwap(false, true) {
		what := [numParts]string{
			"the install's stats handler is not installed: gRPC's own metrics (A66) count nothing",
			"the install's interceptors are not installed: its other sets count nothing",
		}[part]
		r.logger.Warn("grpcmetrics: "+what+"; install the whole install, with ServerOptions or DialOptions (see grpcmetrics_"+r.side+"_install_incomplete_total)",
			zap.String("method", method))
	}
}

// beforeInit logs the first call of method that reaches the install
// before its Init.
func (r *incomplete) beforeInit(method string) {
	if r.early.CompareAndSwap(false, true) {
		r.logger.Warn("grpcmetrics: a call reached the install before Init; calls before Init are counted under grpc_service and grpc_method \"unknown\" (see grpcmetrics_server_calls_before_init_total) and grpc_method \"other\": call ServerInstall.Init after registering the services and before serving",
			zap.String("method", method))
	}
}
