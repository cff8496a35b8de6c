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
// The grpc_code of a call is the code of the error it ends with, which
// for grpc-go's own errors is what status.Code gives the caller. An error
// that another interceptor returns counts as [ServerMetrics] counts a
// handler's: a context error that carries no status as DeadlineExceeded or
// Canceled (where status.Code says Unknown), and an error whose GRPCStatus
// is nil as Unknown. Codes above Unauthenticated count as Unknown, so that
// the series stay bounded.
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
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		ms := c.method(method, streamType(desc.ClientStreams, desc.ServerStreams)).series
		ms.started.get().Inc()
		s := &countedClientStream{c: c, ctx: ctx, series: ms, start: c.clock.start(), serverStreams: desc.ServerStreams}
		// opts may be shared with other calls (grpc-go passes a
		// connection's default call options as they are), so they are
		// copied, into s's own array while they fit, never appended to.
		withFinish := append(append(s.opts[:0], opts...), grpc.OnFinish(s.finish))
		returned := false
		defer func() {
			if !returned { // the streamer panicked; the panic goes on
				s.finishCode(codes.Unknown)
			}
		}()
		cs, err := streamer(ctx, desc, cc, method, withFinish...)
		returned = true
		if err != nil {
			// grpc-go has ended the stream already if the streamer
			// reached it; an interceptor inside this one may have failed
			// without calling it.
			s.finish(err)
			return nil, err
		}
		s.ClientStream = cs
		return s, nil
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
	grpc.ClientStream // set once the streamer returns
	c                 *ClientMetrics
	ctx               context.Context
	series            *methodSeries
	start             time.Duration
	serverStreams     bool
	done              atomic.Bool
	// opts holds the call options passed to the streamer, when they fit.
	opts [4]grpc.CallOption
}

// finish counts the stream as handled with the error that ended it, the
// first time it is called; grpc-go calls it through [grpc.OnFinish], from
// any goroutine. io.EOF (which grpc-go passes as nil) is OK.
func (s *countedClientStream) finish(err error) {
	code := codes.OK
	if !errors.Is(err, io.EOF) {
		code = codeOf(err)
	}
	s.finishCode(code)
}

// finishCode counts the stream as handled with code c, the first time
// finish or finishCode is called.
func (s *countedClientStream) finishCode(c codes.Code) {
	if s.done.CompareAndSwap(false, true) {
		s.c.end(s.ctx, s.series, c, s.start)
	}
}

func (s *countedClientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	switch {
	case err == nil:
		s.series.sent.get().Inc()
	case !errors.Is(err, io.EOF):
		// grpc-go ends its streams here, and has called finish; this
		// ends a stream that an inner interceptor serves itself.
		s.finish(err)
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
	// The stream's end, which grpc-go has counted through finish already,
	// unless an inner interceptor serves the stream itself, or (a server
	// that sends more than one reply where one is expected) grpc-go's
	// wrapper turned a message into an error without ending the stream.
	s.finish(err)
	return err
}
