package interceptor

import (
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// ClientMetrics counts a gRPC client's calls under the metric names and
// labels of go-grpc-middleware's prometheus provider:
// grpc_client_started_total, grpc_client_handled_total (with grpc_code),
// grpc_client_msg_received_total, grpc_client_msg_sent_total and, with
// [WithHistogram], grpc_client_handling_seconds; plus
// grpcmetrics_client_response_failed_total for calls that ended with code OK
// whose response carried a failing status, by the same rule as
// [MilvusCounters]. A Milvus proxy counts its calls to rootcoord this way.
//
// The grpc_code of a call is the code of the error it ends with, which
// for grpc-go's own errors is what status.Code gives the caller. An error
// that another interceptor returns counts as [ServerMetrics] counts a
// handler's: a context error that carries no status as DeadlineExceeded or
// Canceled (where status.Code says Unknown), and an error whose GRPCStatus
// is nil as Unknown. Codes above Unauthenticated count as Unknown, so that
// the series stay bounded.
//
// [WithInFlight] adds grpc_client_in_flight, the calls started and not yet
// handled; [WithContextLabels] adds labels taken from each call's context,
// bounded (see [ContextLabels]); [WithCodeOnHistogram] adds grpc_code to
// the histogram. All three are off by default.
//
// The methods a client calls are its own code's, so each gets its series
// on its first call. Build it with [NewClientMetrics] and install its
// interceptors with [grpc.WithChainUnaryInterceptor] and
// [grpc.WithChainStreamInterceptor].
type ClientMetrics struct {
	fam     *families
	solo    *clientFront // the install of this set alone
	latency *latency     // solo's histogram; nil unless WithHistogram
	member  belonging

	installOptions []string // the options of its own install it was given, for NewClientInstall
}

// NewClientMetrics builds the client metrics. It takes every [Option]
// ([WithStatus], [WithHistogram], [WithCodeOnHistogram], [WithLogger])
// and the provider's options, [WithInFlight] and [WithContextLabels];
// invalid values are an error.
func NewClientMetrics(opts ...ClientMetricsOption) (*ClientMetrics, error) {
	cfg, err := newGenericConfig("NewClientMetrics", opts)
	if err != nil {
		return nil, err
	}
	c := &ClientMetrics{fam: newFamilies("client", cfg.inFlight, cfg.contextLabels, cfg.logger), installOptions: cfg.installOptions()}
	if cfg.histogram != nil {
		c.latency = newLatency(cfg.histogram, "client", cfg.logger, cfg.codeOnHist)
	}
	c.solo = newClientEngine(c, nil, cfg.rules(), c.latency).front()
	return c, nil
}

// UnaryClientInterceptor returns the unary client interceptor. The call
// counts as started and its request as sent, then as handled with the
// invoker's code, the reply as received when there is no error, and the
// reply's status by the response-body rule.
func (c *ClientMetrics) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return c.solo.unary
}

// StreamClientInterceptor returns the stream client interceptor. A stream
// counts as started when it is opened and as handled exactly once, where
// grpc-go itself ends it: the interceptor passes a [grpc.OnFinish] call
// option to the streamer, and grpc-go calls it when RecvMsg returns the
// stream's end (io.EOF counts as OK), when SendMsg fails with an error
// other than io.EOF, when Header finds the stream ended, when the stream's
// context is cancelled or its deadline passes, when its
// [grpc.ClientConn] closes (Canceled), and when the stream cannot be
// created. The code is read from the error grpc-go ends the stream with,
// the stream's status as the caller receives it (see [ClientMetrics]).
// A stream that an interceptor inside this one refuses without calling
// the streamer is handled with the error it returns; one that such an
// interceptor serves itself, without grpc-go, is handled when its RecvMsg
// ends it (as for grpc-go's streams) or its SendMsg fails with an error
// other than io.EOF.
//
// A stream the caller abandons, calling RecvMsg no more before its end,
// is handled when grpc-go releases it: when its context ends (Canceled,
// or DeadlineExceeded) or its connection closes (Canceled). Until then it
// counts as started only, as grpc-go keeps it open; grpc-go's
// [grpc.ClientConn.NewStream] asks callers to cancel the context of a
// stream they abandon. A panic of the streamer (another interceptor)
// counts the stream as handled with code Unknown and goes on.
//
// Each message sent or received without error counts, with no allocation.
// Opening a stream allocates twice, for the stream's wrapper and the
// OnFinish callback, and a third time when the call carries more than
// three call options (the connection's default ones included), for the
// copy of the option list with the callback added.
func (c *ClientMetrics) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return c.solo.stream
}

// Register registers the client metrics on r. Registering them twice on r
// is a no-op; another ClientMetrics (or the provider's) on r is an error
// that says so. ClientMetrics is a [prometheus.Collector], so
// r.Register(c) works too.
func (c *ClientMetrics) Register(r prometheus.Registerer) error {
	return register(r, "ClientMetrics", c)
}

// Describe implements [prometheus.Collector].
func (c *ClientMetrics) Describe(ch chan<- *prometheus.Desc) {
	describe(ch, c.fam.collectors(), c.latency)
}

// Collect implements [prometheus.Collector].
func (c *ClientMetrics) Collect(ch chan<- prometheus.Metric) {
	collect(ch, c.fam.collectors(), c.latency)
}
