package interceptor

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// ServerMetrics counts the calls of any gRPC server under the metric names
// and labels of go-grpc-middleware's prometheus provider:
// grpc_server_started_total, grpc_server_handled_total (with grpc_code),
// grpc_server_msg_received_total, grpc_server_msg_sent_total and, with
// [WithHistogram], grpc_server_handling_seconds. Dashboards and alerts
// built on the provider keep working.
//
// It adds grpcmetrics_server_response_failed_total: calls that ended with
// code OK but whose response carried a failing status, by the same rule as
// [Interceptor] ([WithStatus], or the default rule). The provider's
// families are left as the provider fills them, so an error ratio that
// counts body failures too is
// (handled{grpc_code!="OK"} + response_failed) / handled.
//
// The grpc_code of a call is the code grpc-go sends for the handler's
// error, the one the client receives: that of the status the error
// carries, by status.FromError's rules (the first error in its tree with
// a GRPCStatus method, unless that returns nil), else DeadlineExceeded or
// Canceled when the error is that context error, else Unknown. A panic is
// Unknown. Two kinds of error count otherwise than a client sees them, by
// design: one that carries a status of code OK counts as OK, which grpc-go
// sends (a unary client, left without a reply, sees Internal; a stream's
// client sees OK); and codes above Unauthenticated, which grpc-go sends as
// they are, count as Unknown, so that the series stay bounded.
//
// Build it with [NewServerMetrics], install its interceptors, register the
// services, then call [ServerMetrics.Init] before serving: only the methods
// the server registers get series. Init is required. Calls that arrive
// before it are counted under [UnknownMethod] and in
// grpcmetrics_server_calls_before_init_total, which is exposed (at zero)
// from the start, and the first of them is logged at warn level through
// [WithLogger]'s logger.
//
// Coming from go-grpc-middleware's provider: its InitializeMetrics is
// optional and creates every method's series at zero. Here Init is
// required, since it builds the table that names each call's method, and
// it creates no series unless [WithInitialSeries] is given; with it, Init
// creates every method's series at zero, as InitializeMetrics did.
type ServerMetrics struct {
	side
	initial bool // WithInitialSeries

	methods atomic.Pointer[map[string]*serverMethod] // set once by Init
	unknown [numTypes]*serverMethod                  // by typeIndex

	beforeInit prometheus.Counter // grpcmetrics_server_calls_before_init_total
	warned     atomic.Bool        // the first call before Init was logged
}

// serverMethod is one method of the server.
type serverMethod struct {
	series   *methodSeries
	lastResp atomic.Pointer[shape]
}

// MaxInitialSeries bounds [WithInitialSeries]: Init refuses a server whose
// methods would start with more series than this. Each method starts with
// 21 series (started, received, sent, response_failed and 17 handled, one
// per code), and one more, the histogram (whose buckets are more series in
// the text exposition), when that is on.
const MaxInitialSeries = 100_000

// NewServerMetrics builds the server metrics. It accepts [WithStatus],
// [WithHistogram], [WithInitialSeries] and [WithLogger]; other options are
// an error, as are invalid values.
func NewServerMetrics(opts ...Option) (*ServerMetrics, error) {
	cfg, err := newGenericConfig("NewServerMetrics", opts)
	if err != nil {
		return nil, err
	}
	s := &ServerMetrics{initial: cfg.initialSeries}
	s.init("server", cfg)
	s.beforeInit = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "grpcmetrics_server_calls_before_init_total",
		Help: "Total number of RPCs that reached the server's interceptors before ServerMetrics.Init, counted under grpc_service and grpc_method \"unknown\".",
	})
	for ix := range numTypes {
		s.unknown[ix] = &serverMethod{series: newMethodSeries(s.fam, grpcType(ix), UnknownMethod, UnknownMethod)}
	}
	return s, nil
}

// Init builds the method table from the services registered on srvs
// (usually the [*grpc.Server] the interceptors are installed on, or every
// server that shares them): one route per registered method. Init is
// required: call it once, after registering the services and before
// serving. Calls before it count under [UnknownMethod] and in
// grpcmetrics_server_calls_before_init_total (see [ServerMetrics]); calls
// of methods no server registers count under [UnknownMethod].
//
// Init creates no series unless [WithInitialSeries] is given; with it,
// Init creates every method's series at zero. (go-grpc-middleware's
// InitializeMetrics, by contrast, is optional and always creates them.)
//
// A service or method name that is not valid UTF-8, which grpc-go
// registers and serves like any other, is labelled with each invalid byte
// sequence replaced by U+FFFD (see [strings.ToValidUTF8]); names that
// differ only there share their series.
//
// A second call, no server, or a nil server (an interface holding a nil
// *grpc.Server too) is an error.
func (s *ServerMetrics) Init(srvs ...ServiceInfoProvider) error {
	if len(srvs) == 0 {
		return errors.New("interceptor: ServerMetrics.Init: no server")
	}
	table := make(map[string]*serverMethod)
	for i, srv := range srvs {
		if isNilProvider(srv) {
			return fmt.Errorf("interceptor: ServerMetrics.Init: server %d is nil (%T)", i, srv)
		}
		for svc, info := range srv.GetServiceInfo() {
			for _, mi := range info.Methods {
				typ := streamType(mi.IsClientStream, mi.IsServerStream)
				table["/"+svc+"/"+mi.Name] = &serverMethod{series: newMethodSeries(s.fam, typ, svc, mi.Name)}
			}
		}
	}
	if s.initial {
		perMethod := 4 + numCodes // started, received, sent, response_failed, handled by code
		if s.clock != nil {
			perMethod++ // the histogram
		}
		if n := len(table) * perMethod; n > MaxInitialSeries {
			return fmt.Errorf("interceptor: ServerMetrics.Init: %d methods would start with %d series, more than MaxInitialSeries (%d)", len(table), n, MaxInitialSeries)
		}
	}
	if !s.methods.CompareAndSwap(nil, &table) {
		return errors.New("interceptor: ServerMetrics.Init called twice")
	}
	if s.initial {
		for _, m := range table {
			m.series.initialise()
		}
	}
	return nil
}

// method returns the method of fullMethod, or the unknown method of
// grpc_type grpcType(typ). Before Init, it counts the call in
// grpcmetrics_server_calls_before_init_total and logs the first.
func (s *ServerMetrics) method(fullMethod string, typ int) *serverMethod {
	t := s.methods.Load()
	if t == nil {
		s.beforeInit.Inc()
		if s.warned.CompareAndSwap(false, true) {
			s.logger.Warn("grpcmetrics: a call reached ServerMetrics before Init; calls before Init are counted under grpc_service and grpc_method \"unknown\" (see grpcmetrics_server_calls_before_init_total): call Init after registering the services and before serving",
				zap.String("method", fullMethod))
		}
		return s.unknown[typ]
	}
	if m := (*t)[fullMethod]; m != nil {
		return m
	}
	return s.unknown[typ]
}

// UnaryServerInterceptor returns the unary interceptor. Place it inside any
// recovery interceptor: a handler's panic is counted as handled with code
// Unknown (what a client sees when go-grpc-middleware's recovery, with its
// default handler, turns the panic into an error) and passed on.
func (s *ServerMetrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		m := s.method(info.FullMethod, 0)
		ms := m.series
		ms.started.get().Inc()
		ms.received.get().Inc()
		start := s.clock.start()
		// As in Interceptor.intercept: a handler's panic is counted and
		// goes on; a panic of the status rule is recovered, logged, and
		// counts the response as failed.
		stage := inHandler
		defer func() {
			switch stage {
			case inHandler:
				s.end(ctx, ms, codes.Unknown, start)
			case judging:
				if p := recover(); p != nil {
					s.ruleFailed(ctx, info.FullMethod, ms, start, p)
				}
			}
		}()
		resp, err = handler(ctx, req)
		stage = judging
		if err == nil {
			ms.sent.get().Inc()
			if s.bodyFailed(&m.lastResp, resp) {
				ms.responseFailed.get().Inc()
			}
		}
		stage = ended
		s.end(ctx, ms, codeOf(err), start)
		return resp, err
	}
}

// StreamServerInterceptor returns the stream interceptor. A stream counts
// as started when it opens and as handled, with its code, when the handler
// returns; each message received or sent without error counts. A client
// that cancels mid-stream usually ends it with code Canceled, and an
// expired deadline with DeadlineExceeded: whatever the handler returns. The
// response-body rule does not apply to streamed messages.
func (s *ServerMetrics) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ms := s.method(info.FullMethod, typeIndex(info.IsClientStream, info.IsServerStream)).series
		ms.started.get().Inc()
		start := s.clock.start()
		ctx := ss.Context()
		finished := false
		defer func() {
			if !finished {
				s.end(ctx, ms, codes.Unknown, start)
			}
		}()
		err := handler(srv, &countedServerStream{ServerStream: ss, received: &ms.received, sent: &ms.sent})
		finished = true
		s.end(ctx, ms, codeOf(err), start)
		return err
	}
}

// Register registers the server metrics on r. Registering them twice on r
// is a no-op; another ServerMetrics (or the provider's) on r is an error
// that says so. ServerMetrics is a [prometheus.Collector], so
// r.Register(s) works too, with client_golang's own errors.
func (s *ServerMetrics) Register(r prometheus.Registerer) error {
	return register(r, "ServerMetrics", s)
}

// Describe implements [prometheus.Collector].
func (s *ServerMetrics) Describe(ch chan<- *prometheus.Desc) {
	s.describe(ch)
	s.beforeInit.Describe(ch)
}

// Collect implements [prometheus.Collector].
func (s *ServerMetrics) Collect(ch chan<- prometheus.Metric) {
	s.collect(ch)
	s.beforeInit.Collect(ch)
}

// countedServerStream counts a server stream's messages.
type countedServerStream struct {
	grpc.ServerStream
	received, sent *lazyCounter
}

func (c *countedServerStream) RecvMsg(m any) error {
	err := c.ServerStream.RecvMsg(m)
	if err == nil {
		c.received.get().Inc()
	}
	return err
}

func (c *countedServerStream) SendMsg(m any) error {
	err := c.ServerStream.SendMsg(m)
	if err == nil {
		c.sent.get().Inc()
	}
	return err
}

// ServiceInfoProvider is what [ServerMetrics.Init] needs of a server;
// [*grpc.Server] has it.
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}

// isNilProvider reports whether srv is nil or holds a nil pointer or func,
// whose GetServiceInfo would panic.
func isNilProvider(srv ServiceInfoProvider) bool {
	if srv == nil {
		return true
	}
	switch rv := reflect.ValueOf(srv); rv.Kind() {
	case reflect.Pointer, reflect.Func:
		return rv.IsNil()
	}
	return false
}
