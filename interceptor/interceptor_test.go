package interceptor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// Hand-written stand-ins for generated Milvus types, for the typed paths.
type errorCode int32

type status struct {
	ErrorCode errorCode
	Code      int32
}

func (s *status) GetErrorCode() errorCode {
	if s == nil {
		return 0
	}
	return s.ErrorCode
}

func (s *status) GetCode() int32 {
	if s == nil {
		return 0
	}
	return s.Code
}

type msgBase struct{ SourceID int64 }

func (b *msgBase) GetSourceID() int64 {
	if b == nil {
		return 0
	}
	return b.SourceID
}

type request struct{ Base *msgBase }

func (r *request) GetBase() *msgBase {
	if r == nil {
		return nil
	}
	return r.Base
}

type response struct{ Status *status }

func (r *response) GetStatus() *status {
	if r == nil {
		return nil
	}
	return r.Status
}

type noStatus struct{}

const (
	proxyMethod = "/milvus.proto.milvus.MilvusService/CreateCollection"
	rcMethod    = "/milvus.proto.rootcoord.RootCoord/CreateCollection"
	dnMethod    = "/milvus.proto.data.DataNode/FlushSegments"
)

type fixture struct {
	metrics *registry.Metrics
	ic      *interceptor.Interceptor
}

// typedModes are the ways of reading the stand-ins' statuses and SourceIDs:
// the generic helpers, and functions of the caller's own.
var typedModes = map[string][]interceptor.Option{
	"helpers": {interceptor.WithStatus(interceptor.MilvusStatus[*status, errorCode]()), interceptor.WithClientID(interceptor.MilvusSourceID[*msgBase]())},
	"func":    {interceptor.WithStatus(statusOf), interceptor.WithClientID(clientOf)},
}

func statusOf(resp any) bool {
	switch r := resp.(type) {
	case *status:
		return r.GetErrorCode() != 0 || r.GetCode() != 0
	case interface{ GetStatus() *status }:
		s := r.GetStatus()
		return s.GetErrorCode() != 0 || s.GetCode() != 0
	}
	return false
}

func clientOf(_ context.Context, req any) interceptor.ClientID {
	if r, ok := req.(interface{ GetBase() *msgBase }); ok && r.GetBase() != nil {
		return interceptor.SourceID(r.GetBase().GetSourceID())
	}
	return interceptor.ClientID{}
}

func newFixture(t testing.TB, opts ...interceptor.Option) *fixture {
	t.Helper()
	return newModeFixture(t, "helpers", opts...)
}

func newModeFixture(t testing.TB, mode string, opts ...interceptor.Option) *fixture {
	t.Helper()
	m := suRegistered(t)
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	opts = append(append([]interceptor.Option(nil), typedModes[mode]...), opts...)
	ic, err := interceptor.New(methods, opts...)
	require.NoError(t, err)
	return &fixture{metrics: m, ic: ic}
}

func (f *fixture) call(method string, req any, h grpc.UnaryHandler) (any, error) {
	return f.ic.UnaryServerInterceptor()(context.Background(), req, &grpc.UnaryServerInfo{FullMethod: method}, h)
}

func returns(resp any, err error) grpc.UnaryHandler {
	return func(context.Context, any) (any, error) { return resp, err }
}

func value(vec *prometheus.CounterVec, labels ...string) float64 {
	return testutil.ToFloat64(vec.WithLabelValues(labels...))
}

func TestOutcomes(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name     string
		resp     any
		err      error
		wantFail bool
	}{
		{"bare status success", &status{}, nil, false},
		{"bare status error_code", &status{ErrorCode: 1}, nil, true},
		{"bare status code", &status{Code: 65535}, nil, true},
		{"status field success", &response{Status: &status{}}, nil, false},
		{"status field error_code", &response{Status: &status{ErrorCode: 4}}, nil, true},
		{"status field code", &response{Status: &status{Code: 2}}, nil, true},
		{"nil status field", &response{}, nil, false},
		{"typed nil response", (*response)(nil), nil, false},
		{"no status", &noStatus{}, nil, false},
		{"nil response", nil, nil, false},
		{"grpc error", nil, errBoom, true},
		{"error with a good status", &status{}, errBoom, true},
	}
	for mode := range typedModes {
		for _, tt := range tests {
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				f := newModeFixture(t, mode)
				resp, err := f.call(proxyMethod, &request{}, returns(tt.resp, tt.err))
				assert.Equal(t, tt.resp, resp, "the response passes through")
				assert.Equal(t, tt.err, err, "the error passes through")
				vec := f.metrics.Proxy.CreateCollectionCounter
				fail := 0.0
				if tt.wantFail {
					fail = 1
				}
				assert.Equal(t, 1.0, value(vec, registry.TotalLabel))
				assert.Equal(t, 1-fail, value(vec, registry.SuccessLabel))
				assert.Equal(t, fail, value(vec, registry.FailLabel))
			})
		}
	}
}

func TestPanicIsCountedAndPropagated(t *testing.T) {
	f := newFixture(t)
	type marker struct{}
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		_, _ = f.call(dnMethod, &request{}, func(context.Context, any) (any, error) { panic(marker{}) }) //nolint:errcheck // panics
	}()
	assert.Equal(t, marker{}, recovered, "the handler's own panic value goes on up the chain")
	vec := f.metrics.DataNode.FlushSegmentsCounter
	assert.Equal(t, 1.0, value(vec, registry.TotalLabel))
	assert.Equal(t, 0.0, value(vec, registry.SuccessLabel))
	assert.Equal(t, 1.0, value(vec, registry.FailLabel))
}

func TestClientID(t *testing.T) {
	tests := []struct {
		name string
		req  any
		want string
	}{
		{"source id", &request{Base: &msgBase{SourceID: 42}}, "client_42"},
		{"zero source id", &request{Base: &msgBase{}}, "client_0"},
		{"negative source id", &request{Base: &msgBase{SourceID: -7}}, "client_-7"},
		{"nil base", &request{}, registry.UnknownClientLabel},
		{"typed nil request", (*request)(nil), registry.UnknownClientLabel},
		{"nil request", nil, registry.UnknownClientLabel},
		{"request without base", &noStatus{}, registry.UnknownClientLabel},
	}
	for mode := range typedModes {
		for _, tt := range tests {
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				f := newModeFixture(t, mode)
				_, err := f.call(rcMethod, tt.req, returns(&status{}, nil))
				require.NoError(t, err)
				vec := f.metrics.RootCoord.CreateCollectionCounter
				assert.Equal(t, 3, testutil.CollectAndCount(vec), "one client: total, success and fail")
				assert.Equal(t, 1.0, value(vec, tt.want, registry.TotalLabel))
				assert.Equal(t, 1.0, value(vec, tt.want, registry.SuccessLabel))
			})
		}
	}
}

func TestUnmappedPassesThrough(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, f.metrics.Register(reg))
	before, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	called := false
	resp, err := f.call("/other.Service/Method", &request{}, func(context.Context, any) (any, error) {
		called = true
		return "resp", nil
	})
	require.NoError(t, err)
	assert.True(t, called)
	assert.Equal(t, "resp", resp)
	after, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	for _, e := range mustDefault(t, f.metrics).Entries() {
		if e.Total != nil {
			assert.Zero(t, testutil.ToFloat64(e.Total), e.Method)
		}
	}
}

func mustDefault(t *testing.T, m *registry.Metrics) *methodmap.Map {
	t.Helper()
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	return methods
}

func TestWithOutcome(t *testing.T) {
	indexNotExist := errorCode(25)
	f := newFixture(t, interceptor.WithOutcome(proxyMethod, func(resp any, err error) interceptor.Outcome {
		if r, ok := resp.(*response); ok && r.GetStatus().GetErrorCode() == indexNotExist {
			return interceptor.Success
		}
		if err != nil && err.Error() == "benign" {
			return interceptor.Success
		}
		if _, ok := resp.(*noStatus); ok {
			return interceptor.Fail
		}
		return interceptor.Default
	}))
	calls := []struct {
		resp any
		err  error
	}{
		{&response{Status: &status{ErrorCode: indexNotExist}}, nil}, // success by rule
		{nil, errors.New("benign")},                                 // success by rule
		{&noStatus{}, nil},                                          // fail by rule
		{&response{Status: &status{ErrorCode: 1}}, nil},             // fail by default
		{&status{}, nil},                                            // success by default
	}
	for _, c := range calls {
		_, _ = f.call(proxyMethod, &request{}, returns(c.resp, c.err)) //nolint:errcheck // the error is the handler's
	}
	vec := f.metrics.Proxy.CreateCollectionCounter
	assert.Equal(t, 5.0, value(vec, registry.TotalLabel))
	assert.Equal(t, 3.0, value(vec, registry.SuccessLabel))
	assert.Equal(t, 2.0, value(vec, registry.FailLabel))
}

func TestPanickingClassifierIsContained(t *testing.T) {
	f := newFixture(t, interceptor.WithOutcome(proxyMethod, func(any, error) interceptor.Outcome { panic("bug in rule") }))
	resp, err := f.call(proxyMethod, &request{}, returns(&status{}, nil))
	require.NoError(t, err)
	assert.Equal(t, &status{}, resp)
	vec := f.metrics.Proxy.CreateCollectionCounter
	assert.Equal(t, 1.0, value(vec, registry.TotalLabel))
	assert.Equal(t, 1.0, value(vec, registry.FailLabel))
}

func TestWithClientID(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	f := newFixture(t, interceptor.WithClientID(func(_ context.Context, req any) interceptor.ClientID {
		s, _ := req.(string)
		return interceptor.Label(s)
	}))
	for _, id := range []string{"a", "a", "", "bad\xffutf8", long} {
		_, err := f.call(rcMethod, id, returns(&status{}, nil))
		require.NoError(t, err)
	}
	vec := f.metrics.RootCoord.CreateCollectionCounter
	assert.Equal(t, 2.0, value(vec, "a", registry.TotalLabel))
	assert.Equal(t, 1.0, value(vec, registry.UnknownClientLabel, registry.TotalLabel))
	assert.Equal(t, 1.0, value(vec, "bad\uFFFDutf8", registry.TotalLabel))
	assert.Equal(t, 1.0, value(vec, strings.Repeat("é", 64), registry.TotalLabel), "cut to 128 bytes")
}

func TestClientLimit(t *testing.T) {
	const limit = 10
	f := newFixture(t, interceptor.WithClientLimit(limit))
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(f.ic))
	for id := range int64(100) {
		_, err := f.call(rcMethod, &request{Base: &msgBase{SourceID: id}}, returns(&status{}, nil))
		require.NoError(t, err)
	}
	vec := f.metrics.RootCoord.CreateCollectionCounter
	assert.Equal(t, 3*(limit+1), testutil.CollectAndCount(vec), "limit clients plus overflow, three series each")
	assert.Equal(t, 90.0, value(vec, registry.OverflowClientLabel, registry.TotalLabel))
	assert.Equal(t, 1.0, value(vec, "client_9", registry.SuccessLabel))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP grpcmetrics_client_id_overflow_total Calls of untracked clients counted under client_id="client_overflow" because the client limit was reached; calls whose own client_id is "client_overflow" are not included.
# TYPE grpcmetrics_client_id_overflow_total counter
grpcmetrics_client_id_overflow_total 90
# HELP grpcmetrics_client_ids Distinct client_id values currently tracked by the interceptor, fixed values excluded.
# TYPE grpcmetrics_client_ids gauge
grpcmetrics_client_ids 10
`)))

	// A client that leaves frees its place for a new one.
	assert.True(t, f.ic.RemoveClient(interceptor.SourceID(3)))
	assert.False(t, f.ic.RemoveClient(interceptor.SourceID(3)))
	assert.Equal(t, 3*limit, testutil.CollectAndCount(vec))
	_, err := f.call(rcMethod, &request{Base: &msgBase{SourceID: 500}}, returns(&status{}, nil))
	require.NoError(t, err)
	assert.Equal(t, 1.0, value(vec, "client_500", registry.TotalLabel))
	_, err = f.call(rcMethod, &request{Base: &msgBase{SourceID: 3}}, returns(&status{}, nil))
	require.NoError(t, err)
	assert.Equal(t, 91.0, value(vec, registry.OverflowClientLabel, registry.TotalLabel), "full again")

	// The fixed labels are never removed; counting under them goes on.
	assert.False(t, f.ic.RemoveClient(interceptor.Label(registry.OverflowClientLabel)))
	assert.False(t, f.ic.RemoveClient(interceptor.ClientID{}))
	_, err = f.call(rcMethod, &request{Base: &msgBase{SourceID: 4000}}, returns(&status{}, nil))
	require.NoError(t, err)
	assert.Equal(t, 92.0, value(vec, registry.OverflowClientLabel, registry.TotalLabel))
}

func TestClientChurnRebuildsTable(t *testing.T) {
	const limit = 4
	f := newFixture(t, interceptor.WithClientLimit(limit))
	vec := f.metrics.RootCoord.CreateCollectionCounter
	for id := range int64(1000) {
		_, err := f.call(rcMethod, &request{Base: &msgBase{SourceID: id}}, returns(&status{}, nil))
		require.NoError(t, err)
		require.True(t, f.ic.RemoveClient(interceptor.SourceID(id)), "client %d", id)
	}
	assert.Equal(t, 0, testutil.CollectAndCount(vec))
	require.NoError(t, testutil.CollectAndCompare(f.ic, strings.NewReader(`
# HELP grpcmetrics_client_id_overflow_total Calls of untracked clients counted under client_id="client_overflow" because the client limit was reached; calls whose own client_id is "client_overflow" are not included.
# TYPE grpcmetrics_client_id_overflow_total counter
grpcmetrics_client_id_overflow_total 0
`), "grpcmetrics_client_id_overflow_total"), "no overflow while clients leave")
}

func TestNewValidation(t *testing.T) {
	methods := mustDefault(t, suRegistered(t))
	nop := func(any, error) interceptor.Outcome { return interceptor.Default }
	tests := []struct {
		name string
		m    *methodmap.Map
		opts []interceptor.Option
		err  string
	}{
		{"nil map", nil, nil, "nil method map"},
		{"nil option", methods, []interceptor.Option{nil}, "option 0 is nil"},
		{"outcome for unknown method", methods, []interceptor.Option{interceptor.WithOutcome("/x.Y/Z", nop)}, "/x.Y/Z is not in the method map"},
		{"nil classifier", methods, []interceptor.Option{interceptor.WithOutcome(proxyMethod, nil)}, "nil classifier"},
		{"nil classifier last", methods, []interceptor.Option{interceptor.WithOutcome(proxyMethod, nop), interceptor.WithOutcome(proxyMethod, nil)}, "nil classifier"},
		{"nil client func", methods, []interceptor.Option{interceptor.WithClientID(nil)}, "WithClientID: nil function"},
		{"nil status func", methods, []interceptor.Option{interceptor.WithStatus(nil)}, "WithStatus: nil function"},
		{"zero limit", methods, []interceptor.Option{interceptor.WithClientLimit(0)}, "WithClientLimit: 0 is out of range"},
		{"huge limit", methods, []interceptor.Option{interceptor.WithClientLimit(interceptor.MaxClientLimit + 1)}, "out of range"},
		{"valid limit, then a bad one", methods, []interceptor.Option{interceptor.WithClientLimit(5), interceptor.WithClientLimit(-1)}, "-1 is out of range"},
		{"nil logger", methods, []interceptor.Option{interceptor.WithLogger(nil)}, "nil logger"},
		{"every problem at once", methods, []interceptor.Option{interceptor.WithLogger(nil), interceptor.WithStatus(nil)}, "nil logger (use zap.NewNop to log nothing)\nWithStatus: nil function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ic, err := interceptor.New(tt.m, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, ic)
			assert.Contains(t, err.Error(), tt.err)
		})
	}
}

func TestHotPathAllocatesNothing(t *testing.T) {
	for mode := range typedModes {
		t.Run(mode, func(t *testing.T) { testHotPathAllocatesNothing(t, newModeFixture(t, mode)) })
	}
}

func testHotPathAllocatesNothing(t *testing.T, f *fixture) {
	ok := returns(&response{Status: &status{}}, nil)
	bad := returns(&response{Status: &status{ErrorCode: 1}}, nil)
	errH := returns(nil, errors.New("x"))
	reqs := []*request{{Base: &msgBase{SourceID: 1}}, {}}
	icpt := f.ic.UnaryServerInterceptor()
	ctx := context.Background()
	for _, m := range []string{proxyMethod, rcMethod, dnMethod, "/un.Mapped/M"} {
		info := &grpc.UnaryServerInfo{FullMethod: m}
		for _, req := range reqs {
			for i, h := range []grpc.UnaryHandler{ok, bad, errH} {
				t.Run(fmt.Sprintf("%s/base=%v/%d", m, req.Base != nil, i), func(t *testing.T) {
					_, _ = icpt(ctx, req, info, h) //nolint:errcheck // warm the caches
					allocs := testing.AllocsPerRun(200, func() {
						_, _ = icpt(ctx, req, info, h) //nolint:errcheck // measured, not checked
					})
					assert.Zero(t, allocs)
				})
			}
		}
	}
}
