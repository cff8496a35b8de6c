package interceptor

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// ClientMetrics counts a gRPC client's calls under the metric names and
// labels of go-grpc-middleware's prometheus provider:
// grpc_client_started_total, grpc_client_handled_total (with grpc_code),
// grpc_client_msg_received_total, grpc_client_msg_sent_total and, with
// [WithHistogram], grpc_client_handling_seconds; plus
// grpcmetrics_client_response_failed_total for calls that ended with code OK
// whose response carried a failing status, by the same rule as
// [Interceptor]. A Milvus proxy counts its calls to rootcoord this way.
//
// The methods a client calls are its own code's, so each gets its series
// on its first call. Build it with [NewClientMetrics] and install its
// interceptors with [grpc.WithChainUnaryInterceptor] and
// [grpc.WithChainStreamInterceptor].
type ClientMetrics struct {
	side
	methods sync.Map // methodKey → *clientMethod
}

type clientMethod struct {
	series    *methodSeries
	lastReply atomic.Pointer[shape]
}

// NewClientMetrics builds the client metrics. It accepts [WithStatus],
// [WithHistogram] and [WithLogger]; other options are an error, as are
// invalid values.
func NewClientMetrics(opts ...Option) (*ClientMetrics, error) {
	cfg, err := newGenericConfig("NewClientMetrics", opts)
	if err != nil {
		return nil, err
	}
	c := &ClientMetrics{}
	c.init("client", cfg)
	return c, nil
}

// methodKey is a method as a client calls it: its grpc_type and full name.
type methodKey struct{ typ, method string }

func (c *ClientMetrics) method(fullMethod, typ string) *clientMethod {
	key := methodKey{typ, fullMethod}
	if m, ok := c.methods.Load(key); ok {
		return m.(*clientMethod)
	}
	svc, name := splitMethod(fullMethod)
	m, _ := c.methods.LoadOrStore(key, &clientMethod{series: newMethodSeries(c.fam, typ, svc, name)})
	return m.(*clientMethod)
}

// UnaryClientInterceptor returns the unary client interceptor. The call
// counts as started and its request as sent, then as handled with the
// invoker's code, the reply as received when there is no error, and the
// reply's status by the response-body rule.
func (c *ClientMetrics) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) (err error) {
		m := c.method(method, Unary)
		ms := m.series
		ms.started.get().Inc()
		ms.sent.get().Inc()
		start := c.clock.start()
		// A panic of the invoker (another interceptor) is counted and goes
		// on; a panic of the status rule is recovered, logged, and counts
		// the reply as failed.
		stage := inHandler
		defer func() {
			switch stage {
			case inHandler:
				c.end(ctx, ms, codes.Unknown, start)
			case judging:
				if p := recover(); p != nil {
					c.ruleFailed(ctx, method, ms, start, p)
				}
			}
		}()
		err = invoker(ctx, method, req, reply, cc, opts...)
		stage = judging
		if err == nil {
			ms.received.get().Inc()
			if c.bodyFailed(&m.lastReply, reply) {
				ms.responseFailed.get().Inc()
			}
		}
		stage = ended
		c.end(ctx, ms, codeOf(err), start)
		return err
	}
}

// StreamClientInterceptor returns the stream client interceptor. A stream
// counts as started when it is opened and as handled exactly once: with
// the error that opening it returned, or when RecvMsg ends it (io.EOF is
// OK for streams with server messages; for client streams, whatever the
// one RecvMsg returns). A stream the caller abandons before that, without
// cancelling its context, is never counted as handled, as with the
// provider. Each message sent or received without error counts.
func (c *ClientMetrics) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		ms := c.method(method, streamType(desc.ClientStreams, desc.ServerStreams)).series
		ms.started.get().Inc()
		start := c.clock.start()
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			c.end(ctx, ms, codeOf(err), start)
			return nil, err
		}
		return &countedClientStream{ClientStream: cs, c: c, ctx: ctx, series: ms, start: start, serverStreams: desc.ServerStreams}, nil
	}
}

// Register registers the client metrics on r. Registering them twice on r
// is a no-op; another ClientMetrics (or the provider's) on r is an error
// that says so. ClientMetrics is a [prometheus.Collector], so
// r.Register(c) works too.
func (c *ClientMetrics) Register(r prometheus.Registerer) error {
	return register(r, "ClientMetrics", c)
}

// Describe implements [prometheus.Collector].
func (c *ClientMetrics) Describe(ch chan<- *prometheus.Desc) { c.describe(ch) }

// Collect implements [prometheus.Collector].
func (c *ClientMetrics) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// countedClientStream counts a client stream's messages and its end.
type countedClientStream struct {
	grpc.ClientStream
	c             *ClientMetrics
	ctx           context.Context
	series        *methodSeries
	start         time.Duration
	serverStreams bool
	done          atomic.Bool
}

func (s *countedClientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err == nil {
		s.series.sent.get().Inc()
	}
	return err
}

func (s *countedClientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		s.series.received.get().Inc()
		if s.serverStreams {
			return nil
		}
	}
	if s.done.CompareAndSwap(false, true) {
		code := codes.OK
		if !errors.Is(err, io.EOF) {
			code = codeOf(err)
		}
		s.c.end(s.ctx, s.series, code, s.start)
	}
	return err
}
