package interceptor

// ClientMetrics counts a gRPC client's calls under the metric names and
// labels of go-grpc-middleware's prometheus provider:
// grpc_client_started_total, grpc_client_handled_total (with grpc_code),
// grpc_client_msg_received_total, grpc_client_msg_sent_total and, with
// the install's [WithHistogram], grpc_client_handling_seconds; plus
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
// bounded (see [ContextLabels]). Both are off by default.
//
// The methods a client calls are its own code's, so each gets its series
// on its first call. Build it with [NewClientMetrics] and give it to a
// [ClientInstall] ([ClientSets].Provider).
//
// A stream counts as started when it is opened and as handled exactly
// once, where grpc-go itself ends it: the install passes a
// [grpc.OnFinish] call option to the streamer, and grpc-go calls it when
// RecvMsg returns the stream's end (io.EOF counts as OK), when SendMsg
// fails with an error other than io.EOF, when Header finds the stream
// ended, when the stream's context is cancelled or its deadline passes,
// when its [grpc.ClientConn] closes (Canceled), and when the stream cannot
// be created. A stream that an interceptor inside the install's refuses
// without calling the streamer is handled with the error it returns; one
// that such an interceptor serves itself, without grpc-go, is handled when
// its RecvMsg ends it or its SendMsg fails with an error other than
// io.EOF. A stream the caller abandons, calling RecvMsg no more before its
// end, is handled when grpc-go releases it: when its context ends or its
// connection closes; until then it counts as started only. A panic of
// the streamer (another interceptor) counts the stream as handled with
// code Unknown and goes on.
//
// Each message sent or received without error counts, with no
// allocation. Opening a stream allocates twice, for the stream's state and
// the OnFinish callback, and a third time when the call carries more than
// three call options (the connection's default ones included).
type ClientMetrics struct {
	fam     *families
	metrics *setCollector // the set's own metrics, as one collector
	member  belonging     // the install it belongs to
}

// ClientMetricsOption configures [NewClientMetrics]: a [ProviderOption]
// ([WithContextLabels]) or a [SharedOption] ([WithInFlight]).
type ClientMetricsOption interface {
	applyClientMetrics(*clientMetricsConfig)
}

// clientMetricsConfig is what the options of [NewClientMetrics] set.
type clientMetricsConfig struct {
	inFlight      bool
	contextLabels *ContextLabels // nil: none
}

// NewClientMetrics builds the client's families of go-grpc-middleware's
// provider (see [ClientMetrics]). It takes [WithInFlight] and
// [WithContextLabels]; invalid values are an error.
func NewClientMetrics(opts ...ClientMetricsOption) (*ClientMetrics, error) {
	cfg, err := newProviderConfig("NewClientMetrics", opts,
		func(o ClientMetricsOption, c *clientMetricsConfig) { o.applyClientMetrics(c) },
		func(c *clientMetricsConfig) *ContextLabels { return c.contextLabels })
	if err != nil {
		return nil, err
	}
	c := &ClientMetrics{fam: newFamilies("client", cfg.inFlight, cfg.contextLabels)}
	c.metrics = &setCollector{cs: c.fam.collectors()}
	return c, nil
}

// RemoveContextLabels forgets a tuple of context label values, as
// [ServerMetrics.RemoveContextLabels] does.
func (c *ClientMetrics) RemoveContextLabels(values ...string) bool {
	return c.fam.removeContextLabels(values)
}
