package interceptor_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
)

type traceKey struct{}

func traceID(ctx context.Context) string {
	v, _ := ctx.Value(traceKey{}).(string)
	return v
}

// histogramOf gathers the one series of histogram name that has samples.
func histogramOf(t *testing.T, reg prometheus.Gatherer, name string) *dto.Histogram {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var found []*dto.Histogram
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				if m.GetHistogram().GetSampleCount() > 0 {
					found = append(found, m.GetHistogram())
				}
			}
		}
	}
	require.Len(t, found, 1, "series of %s with samples", name)
	return found[0]
}

func TestHistogramWithExemplars(t *testing.T) {
	m := suRegistered(t)
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	ic, err := interceptor.New(methods, interceptor.WithHistogram(interceptor.Histogram{
		Buckets:  []float64{0.001, 1},
		Exemplar: &interceptor.Exemplar{Label: "trace_id", Value: traceID},
	}))
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, ic.Register(reg))
	icpt := ic.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: proxyMethod}

	long := strings.Repeat("界", 200) + "\xff" // invalid UTF-8, far too long
	for _, id := range []string{"", "abc", long} {
		ctx := context.WithValue(context.Background(), traceKey{}, id)
		_, err := icpt(ctx, &request{}, info, returns(&status{}, nil))
		require.NoError(t, err)
	}
	h := histogramOf(t, reg, "grpc_server_handling_seconds")
	assert.EqualValues(t, 3, h.GetSampleCount())
	require.Len(t, h.GetBucket(), 2)
	assert.EqualValues(t, 3, h.GetBucket()[1].GetCumulativeCount(), "a no-op handler takes less than a second")

	var exemplars []*dto.Exemplar
	for _, b := range h.GetBucket() {
		if e := b.GetExemplar(); e != nil {
			exemplars = append(exemplars, e)
		}
	}
	require.NotEmpty(t, exemplars, "the last exemplar of a bucket is kept")
	for _, e := range exemplars {
		require.Len(t, e.GetLabel(), 1)
		v := e.GetLabel()[0].GetValue()
		assert.True(t, utf8.ValidString(v))
		assert.LessOrEqual(t, utf8.RuneCountInString("trace_id")+utf8.RuneCountInString(v), prometheus.ExemplarMaxRunes)
	}

	problems, err := promlint.NewWithMetricFamilies(mustGather(t, reg)).Lint()
	require.NoError(t, err)
	assert.Empty(t, problems, "new names pass promlint with no exception")
}

func mustGather(t *testing.T, g prometheus.Gatherer) []*dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	return mfs
}

func TestPanickingExemplarIsContained(t *testing.T) {
	sm, err := interceptor.LegacyServerMetrics(interceptor.WithHistogram(interceptor.Histogram{
		Exemplar: &interceptor.Exemplar{Label: "trace_id", Value: func(context.Context) string { panic("tracer bug") }},
	}))
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, sm.Register(reg))
	require.NotPanics(t, func() {
		_, err = sm.UnaryServerInterceptor()(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/a.S/M"}, returns(nil, nil))
	})
	require.NoError(t, err)
	assert.EqualValues(t, 1, histogramOf(t, reg, "grpc_server_handling_seconds").GetSampleCount())
}

func TestHistogramValidation(t *testing.T) {
	tests := []struct {
		name string
		h    interceptor.Histogram
		want string
	}{
		{"unsorted buckets", interceptor.Histogram{Buckets: []float64{1, 0.5}}, "bucket 1 (0.5) is not above bucket 0 (1)"},
		{"negative bucket", interceptor.Histogram{Buckets: []float64{-1}}, "bucket 0 is -1"},
		{"native factor 1", interceptor.Histogram{NativeBucketFactor: 1}, "NativeBucketFactor 1 must be 0 (off) or above 1"},
		{"bad exemplar label", interceptor.Histogram{Exemplar: &interceptor.Exemplar{Label: "trace-id", Value: traceID}}, `"trace-id" is not a valid label name`},
		{"long exemplar label", interceptor.Histogram{Exemplar: &interceptor.Exemplar{Label: strings.Repeat("a", 65), Value: traceID}}, "longer than 64 runes"},
		{"nil exemplar func", interceptor.Histogram{Exemplar: &interceptor.Exemplar{Label: "trace_id"}}, "Exemplar.Value is nil"},
	}
	methods, err := methodmap.Default(suRegistered(t))
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := interceptor.New(methods, interceptor.WithHistogram(tt.h))
			require.ErrorContains(t, err, tt.want)
			_, err = interceptor.LegacyServerMetrics(interceptor.WithHistogram(tt.h))
			require.ErrorContains(t, err, tt.want)
			_, err = interceptor.LegacyClientMetrics(interceptor.WithHistogram(tt.h))
			require.ErrorContains(t, err, tt.want)
		})
	}
	// The last WithHistogram wins: a valid one after an invalid one is fine.
	_, err = interceptor.LegacyServerMetrics(interceptor.WithHistogram(interceptor.Histogram{NativeBucketFactor: 1}), interceptor.WithHistogram(interceptor.Histogram{NativeBucketFactor: 1.1}))
	require.NoError(t, err)
}

// TestGenericOptionValidation checks the generic constructors' errors.
// Options of another constructor (WithClientID, WithClientLimit,
// WithOutcome for New; WithInitialSeries for NewServerMetrics) are of
// other types, so giving them is a compile-time error.
func TestGenericOptionValidation(t *testing.T) {
	tests := []struct {
		name string
		opts []interceptor.Option
		want string
	}{
		{"nil status", []interceptor.Option{interceptor.WithStatus(nil)}, "WithStatus: nil function"},
		{"nil option", []interceptor.Option{nil}, "option 0 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := interceptor.LegacyServerMetrics(enServerOptions(tt.opts)...)
			require.ErrorContains(t, err, tt.want)
			_, err = interceptor.LegacyClientMetrics(cxClientOptions(tt.opts)...)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

type fakeServer map[string]grpc.ServiceInfo

func (f fakeServer) GetServiceInfo() map[string]grpc.ServiceInfo { return f }

func TestServerMetricsInit(t *testing.T) {
	sm, err := interceptor.LegacyServerMetrics(interceptor.WithInitialSeries())
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, sm.Register(reg))
	require.NoError(t, sm.Register(reg), "twice is a no-op")
	other, err := interceptor.LegacyServerMetrics()
	require.NoError(t, err)
	require.ErrorContains(t, other.Register(reg), "another collector already registered these metrics")

	icpt := sm.UnaryServerInterceptor()
	call := func(method string) {
		_, err := icpt(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: method}, returns(nil, errors.New("x")))
		require.Error(t, err)
	}
	call("/a.S/M") // before Init: unknown
	require.NoError(t, sm.Init(fakeServer{"a.S": {Methods: []grpc.MethodInfo{{Name: "M"}, {Name: "W", IsServerStream: true}}}}))
	require.ErrorContains(t, sm.Init(fakeServer{}), "called twice")
	fresh, err := interceptor.LegacyServerMetrics()
	require.NoError(t, err)
	require.ErrorContains(t, fresh.Init(), "no server")
	require.ErrorContains(t, fresh.Init(fakeServer{}, nil), "server 1 is nil")
	call("/a.S/M")
	call("/hostile.Name/" + strings.Repeat("x", 1000)) // not registered: unknown

	started := func(typ, svc, method string) float64 {
		return sample(t, reg, "grpc_server_started_total", map[string]string{"grpc_type": typ, "grpc_service": svc, "grpc_method": method})
	}
	assert.Equal(t, 1.0, started(interceptor.Unary, "a.S", "M"))
	assert.Equal(t, 2.0, started(interceptor.Unary, interceptor.UnknownMethod, interceptor.UnknownMethod))
	assert.Equal(t, 0.0, started(interceptor.ServerStream, "a.S", "W"))

	mfs := mustGather(t, reg)
	series := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "grpc_service" && lp.GetValue() == "a.S" {
					series++
				}
			}
		}
	}
	assert.Equal(t, 2*(4+17), series, "WithInitialSeries: 21 series per registered method (22 with the histogram)")
}

// sample returns the value of the counter of family name with exactly
// labels, 0 if there is none.
func sample(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	for _, mf := range mustGather(t, g) {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestGenericRulePanicsAreContained makes the status rule panic under
// ServerMetrics and ClientMetrics: the call is handled with code OK, its
// response counted as failed, the panic logged and contained.
func TestGenericRulePanicsAreContained(t *testing.T) {
	boom := interceptor.WithStatus(func(any) bool { panic("status rule") })
	sm, err := interceptor.LegacyServerMetrics(boom)
	require.NoError(t, err)
	cm, err := interceptor.LegacyClientMetrics(boom)
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, sm.Register(reg))
	require.NoError(t, cm.Register(reg))
	require.NoError(t, sm.Init(fakeServer{"a.S": {Methods: []grpc.MethodInfo{{Name: "M"}}}}))
	var resp any
	require.NotPanics(t, func() {
		resp, err = sm.UnaryServerInterceptor()(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/a.S/M"}, returns(&status{}, nil))
	})
	require.NoError(t, err)
	assert.Equal(t, &status{}, resp)
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	require.NotPanics(t, func() {
		err = cm.UnaryClientInterceptor()(context.Background(), "/a.S/M", nil, &status{}, nil, invoker)
	})
	require.NoError(t, err)
	m := map[string]string{"grpc_type": "unary", "grpc_service": "a.S", "grpc_method": "M"}
	for _, side := range []string{"server", "client"} {
		assert.Equal(t, 1.0, sample(t, reg, "grpcmetrics_"+side+"_response_failed_total", m), side)
		assert.Equal(t, 1.0, sample(t, reg, "grpc_"+side+"_handled_total", map[string]string{"grpc_type": "unary", "grpc_service": "a.S", "grpc_method": "M", "grpc_code": "OK"}), side)
	}
}

// TestClientMethodNamesAreSafeLabels calls methods whose names are not
// valid UTF-8 or malformed: they count under UnknownMethod, and nothing
// panics (a label that is not valid UTF-8 would make client_golang panic).
func TestClientMethodNamesAreSafeLabels(t *testing.T) {
	cm, err := interceptor.LegacyClientMetrics()
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, cm.Register(reg))
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	for _, m := range []string{"/svc\xff/M", "/a.S/M\xfe", "no-slash", "/a.S/", "//M"} {
		require.NotPanics(t, func() {
			require.NoError(t, cm.UnaryClientInterceptor()(context.Background(), m, nil, nil, nil, invoker))
		}, m)
	}
	assert.Equal(t, 5.0, sample(t, reg, "grpc_client_started_total", map[string]string{
		"grpc_type": "unary", "grpc_service": interceptor.UnknownMethod, "grpc_method": interceptor.UnknownMethod}))
	_, err = reg.Gather()
	require.NoError(t, err, "every label is valid")
}
