package interceptor_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// TestRemoveClientDuringCallsKeepsCounting removes a client while its calls
// run: every call that starts after RemoveClient has returned must be in
// the exposition. Before admission, removal and series resolution were
// ordered under one lock, a call racing the removal could re-admit the
// client with series that the removal then deleted, and every later call of
// that client was lost.
func TestRemoveClientDuringCallsKeepsCounting(t *testing.T) {
	f := newFixture(t)
	vec := f.metrics.RootCoord.DropCollectionCounter
	const method = "/milvus.proto.rootcoord.RootCoord/DropCollection"
	ok := returns(&status{}, nil)
	req := &request{Base: &msgBase{SourceID: 9}}
	for trial := range 60 {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					_, _ = f.call(method, req, ok) //nolint:errcheck // the handler returns none
				}
			}
		}()
		f.ic.RemoveClient(interceptor.SourceID(9))
		// These calls start after the removal returned; the racing
		// goroutine's calls may or may not land, but these must.
		before := value(vec, "client_9", registry.TotalLabel)
		close(stop)
		wg.Wait()
		racing := value(vec, "client_9", registry.TotalLabel) - before
		const mine = 5
		for range mine {
			_, err := f.call(method, req, ok)
			require.NoError(t, err)
		}
		got := value(vec, "client_9", registry.TotalLabel)
		require.GreaterOrEqual(t, got, before+racing+mine, "trial %d: calls after the removal were lost", trial)
	}
}

// panickyStatus is a Status whose getters panic when boom is set, as a
// user's hand-written status type might.
type panickyStatus struct{ boom bool }

func (s *panickyStatus) GetErrorCode() errorCode {
	if s != nil && s.boom {
		panic("GetErrorCode")
	}
	return 0
}

func (s *panickyStatus) GetCode() int32 { return 0 }

// panickyMessage is a protobuf message whose ProtoReflect panics on some
// values, so that the default rule itself panics on them.
type panickyMessage struct{ boom bool }

func (p *panickyMessage) ProtoReflect() protoreflect.Message {
	if p != nil && p.boom {
		panic("ProtoReflect")
	}
	return (*commonpb.Status)(nil).ProtoReflect()
}

// panickyRequest is panickyMessage with a MsgBase, for the SourceID rule.
type panickyRequest struct{ boom bool }

func (p *panickyRequest) ProtoReflect() protoreflect.Message {
	if p != nil && p.boom {
		panic("ProtoReflect")
	}
	return (*milvuspb.CreateCollectionRequest)(nil).ProtoReflect()
}

// TestPanicsOnOurSideAreContained makes each rule on the interceptor's side
// of a call panic: the call is counted once as fail, the panic is logged and
// goes no further, and the handler's response and error reach the caller.
func TestPanicsOnOurSideAreContained(t *testing.T) {
	tests := []struct {
		name   string
		opts   []interceptor.Option
		method string
		req    any
		resp   any
	}{
		{
			name:   "StatusFunc",
			opts:   []interceptor.Option{interceptor.WithStatus(func(any) bool { panic("status func") })},
			method: proxyMethod, req: &request{}, resp: &status{},
		},
		{
			name:   "MilvusStatus getter",
			opts:   []interceptor.Option{interceptor.WithStatus(interceptor.MilvusStatus[*panickyStatus, errorCode]())},
			method: proxyMethod, req: &request{}, resp: &panickyStatus{boom: true},
		},
		{
			name: "ClientIDFunc",
			opts: []interceptor.Option{interceptor.WithClientID(func(context.Context, any) interceptor.ClientID {
				panic("client func")
			})},
			method: rcMethod, req: &request{}, resp: &status{},
		},
		{
			name:   "default rule",
			method: proxyMethod, req: &request{}, resp: &panickyMessage{boom: true},
		},
		{
			name:   "default rule, client-labelled",
			method: rcMethod, req: &panickyRequest{boom: true}, resp: &status{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, ic, logs := newLogged(t, tt.opts...)
			icpt := ic.UnaryServerInterceptor()
			var (
				resp any
				err  error
			)
			require.NotPanics(t, func() {
				resp, err = icpt(context.Background(), tt.req, &grpc.UnaryServerInfo{FullMethod: tt.method}, returns(tt.resp, nil))
			})
			require.NoError(t, err)
			assert.Same(t, tt.resp, resp, "the handler's response reaches the caller")
			total, success, fail := outcomeSums(t, m, tt.method)
			assert.Equal(t, [3]float64{1, 0, 1}, [3]float64{total, success, fail}, "total, success, fail")
			assert.Equal(t, 1, logs.Len(), "the panic is logged")
		})
	}
}

// TestHandlerRunsAfterTheClientRulePanics makes the client rule panic and
// then lets the handler answer, fail or panic: the handler runs once, what
// it returns reaches the caller and its panic goes on up the chain, and the
// call counts once, as fail, under the unknown client, in unary calls and
// in streams alike.
func TestHandlerRunsAfterTheClientRulePanics(t *testing.T) {
	errHandler := errors.New("handler failed")
	tests := []struct {
		name      string
		resp      any
		err       error
		panicWith any
	}{
		{name: "handler succeeds", resp: &status{}},
		{name: "handler fails", err: errHandler},
		{name: "handler panics", panicWith: "handler panic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, methods, ic, logs := newLogged(t,
				interceptor.WithClientID(func(context.Context, any) interceptor.ClientID { panic("client rule") }))
			e, ok := methods.Lookup(rcMethod)
			require.True(t, ok)
			unknown := func(label string) float64 { return value(e.Counter, registry.UnknownClientLabel, label) }

			runs := 0
			handler := func(context.Context, any) (any, error) {
				runs++
				if tt.panicWith != nil {
					panic(tt.panicWith)
				}
				return tt.resp, tt.err
			}
			call := func() (resp any, err error) {
				return ic.UnaryServerInterceptor()(context.Background(), &request{}, &grpc.UnaryServerInfo{FullMethod: rcMethod}, handler)
			}
			if tt.panicWith != nil {
				assert.PanicsWithValue(t, tt.panicWith, func() { _, _ = call() })
			} else {
				resp, err := call()
				assert.Equal(t, tt.resp, resp)
				assert.Equal(t, tt.err, err)
			}
			assert.Equal(t, 1, runs, "the handler runs once")
			assert.Equal(t, [3]float64{1, 0, 1}, [3]float64{unknown(registry.TotalLabel), unknown(registry.SuccessLabel), unknown(registry.FailLabel)}, "unary: total, success, fail under the unknown client")

			stream := func(any, grpc.ServerStream) error {
				runs++
				if tt.panicWith != nil {
					panic(tt.panicWith)
				}
				return tt.err
			}
			callStream := func() error {
				return ic.StreamServerInterceptor()(nil, nopServerStream{ctx: context.Background()}, &grpc.StreamServerInfo{FullMethod: rcMethod}, stream)
			}
			if tt.panicWith != nil {
				assert.PanicsWithValue(t, tt.panicWith, func() { _ = callStream() })
			} else {
				assert.Equal(t, tt.err, callStream())
			}
			assert.Equal(t, 2, runs, "the stream handler runs once")
			assert.Equal(t, [3]float64{2, 0, 2}, [3]float64{unknown(registry.TotalLabel), unknown(registry.SuccessLabel), unknown(registry.FailLabel)}, "stream: total, success, fail under the unknown client")
			assert.Equal(t, 2, logs.FilterMessageSnippet("client ID rule panicked").Len(), "each panic of the rule is logged")
		})
	}
}

// newLogged builds an interceptor with opts over the default map of a new
// registry.Metrics, logging to an observer of Error and above.
func newLogged(t *testing.T, opts ...interceptor.Option) (*registry.Metrics, *methodmap.Map, *interceptor.Interceptor, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.ErrorLevel)
	m := suRegistered(t)
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	ic, err := interceptor.New(methods, append(opts, interceptor.WithLogger(zap.New(core)))...)
	require.NoError(t, err)
	return m, methods, ic, logs
}

// outcomeSums adds the total, success and fail series of method's counter
// over all clients.
func outcomeSums(t *testing.T, m *registry.Metrics, method string) (total, success, fail float64) {
	t.Helper()
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	e, ok := methods.Lookup(method)
	require.True(t, ok)
	if e.Scheme != methodmap.ClientTypeScheme {
		return testutil.ToFloat64(e.Total), testutil.ToFloat64(e.Success), testutil.ToFloat64(e.Fail)
	}
	return sum(t, e.Counter, registry.TotalLabel), sum(t, e.Counter, registry.SuccessLabel), sum(t, e.Counter, registry.FailLabel)
}

// TestAlternatingResponseTypes answers one route with three Go types in
// turn. Each is judged by its own shape, and switching costs no allocation
// (a one-entry cache per route used to be rebuilt on every switch).
func TestAlternatingResponseTypes(t *testing.T) {
	m := suRegistered(t)
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	ic, err := interceptor.New(methods)
	require.NoError(t, err)
	icpt := ic.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: proxyMethod}
	req := &milvuspb.CreateCollectionRequest{}
	handlers := []grpc.UnaryHandler{
		returns(&commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError}, nil),               // fail
		returns(&milvuspb.BoolResponse{Status: &commonpb.Status{}}, nil),                            // success
		returns(&milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{Code: 5}}, nil),       // fail
		returns(&milvuspb.DummyResponse{}, nil),                                                     // success
		returns(&milvuspb.StringResponse{Status: &commonpb.Status{ErrorCode: 0, Code: 0}}, nil),     // success
		returns(nil, errors.New("handler error")),                                                   // fail
		returns(&milvuspb.ShowCollectionsResponse{Status: &commonpb.Status{ErrorCode: 1}}, nil),     // fail
		returns((*milvuspb.ShowCollectionsResponse)(nil), nil),                                      // success
		returns(&milvuspb.FlushResponse{Status: &commonpb.Status{}}, nil),                           // success
		returns(&milvuspb.GetPersistentSegmentInfoResponse{Status: &commonpb.Status{Code: 1}}, nil), // fail
	}
	const rounds = 100
	for range rounds {
		for _, h := range handlers {
			_, _ = icpt(context.Background(), req, info, h) //nolint:errcheck // the handler's own error
		}
	}
	vec := m.Proxy.CreateCollectionCounter
	assert.Equal(t, float64(rounds*len(handlers)), value(vec, registry.TotalLabel))
	assert.Equal(t, float64(rounds*5), value(vec, registry.FailLabel))
	assert.Equal(t, float64(rounds*5), value(vec, registry.SuccessLabel))

	allocs := testing.AllocsPerRun(100, func() {
		for _, h := range handlers {
			_, _ = icpt(context.Background(), req, info, h) //nolint:errcheck // measured, not checked
		}
	})
	assert.Zero(t, allocs, "alternating types must not allocate")
}

// TestDefaultRulesAllocateNothing runs every path of the default rules over
// generated messages and checks that a warm call allocates nothing.
func TestDefaultRulesAllocateNothing(t *testing.T) {
	m := suRegistered(t)
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	ic, err := interceptor.New(methods)
	require.NoError(t, err)
	icpt := ic.UnaryServerInterceptor()
	ctx := context.Background()
	handlers := map[string]grpc.UnaryHandler{
		"success":       returns(&milvuspb.BoolResponse{Status: &commonpb.Status{}}, nil),
		"status fail":   returns(&milvuspb.BoolResponse{Status: &commonpb.Status{ErrorCode: 1}}, nil),
		"bare status":   returns(&commonpb.Status{Code: 3}, nil),
		"no status":     returns(&milvuspb.DummyResponse{}, nil),
		"handler error": returns(nil, errors.New("x")),
	}
	reqs := map[string]any{
		"base":    &milvuspb.CreateCollectionRequest{Base: &commonpb.MsgBase{SourceID: 11}},
		"no base": &milvuspb.CreateCollectionRequest{},
	}
	for _, method := range []string{proxyMethod, rcMethod, dnMethod, "/un.Mapped/M"} {
		info := &grpc.UnaryServerInfo{FullMethod: method}
		for rname, req := range reqs {
			for hname, h := range handlers {
				t.Run(fmt.Sprintf("%s/%s/%s", method, rname, hname), func(t *testing.T) {
					_, _ = icpt(ctx, req, info, h) //nolint:errcheck // warm the caches
					allocs := testing.AllocsPerRun(100, func() {
						_, _ = icpt(ctx, req, info, h) //nolint:errcheck // measured, not checked
					})
					assert.Zero(t, allocs)
				})
			}
		}
	}
}
