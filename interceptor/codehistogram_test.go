package interceptor_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// cxHistogramCodes returns the sample count of the histogram family name
// by its grpc_code label ("" when it has none).
func cxHistogramCodes(t *testing.T, reg prometheus.Gatherer, name string) map[string]uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := make(map[string]uint64)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			code := ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "grpc_code" {
					code = lp.GetValue()
				}
			}
			out[code] += m.GetHistogram().GetSampleCount()
		}
	}
	return out
}

// TestCxCodeOnHistogram checks that WithCodeOnHistogram labels the
// handling-time histograms of both sides with the call's code, and that
// without it they have no grpc_code (the provider's shape).
func TestCxCodeOnHistogram(t *testing.T) {
	for _, byCode := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[byCode], func(t *testing.T) {
			opts := []interceptor.Option{interceptor.WithHistogram(interceptor.Histogram{})}
			if byCode {
				opts = append(opts, interceptor.LegacyCodeOnHistogram())
			}
			sm, err := interceptor.LegacyServerMetrics(enServerOptions(opts)...)
			require.NoError(t, err)
			cm, err := interceptor.LegacyClientMetrics(cxClientOptions(opts)...)
			require.NoError(t, err)
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, sm.Register(reg))
			require.NoError(t, cm.Register(reg))
			st := cxStart(t, cxService{}, sm, cm)
			for _, body := range []string{"ok", "ok", "err", "panic"} {
				_, err := st.client.UnaryCall(t.Context(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte(body)}})
				require.Equal(t, body == "ok", err == nil, body)
			}
			want := map[string]uint64{"": 4}
			if byCode {
				want = map[string]uint64{"OK": 2, "InvalidArgument": 1, "Unknown": 1}
			}
			assert.Equal(t, want, cxHistogramCodes(t, reg, "grpc_server_handling_seconds"))
			if byCode { // the client sees recovery's Internal for the panic
				want = map[string]uint64{"OK": 2, "InvalidArgument": 1, "Internal": 1}
			}
			assert.Equal(t, want, cxHistogramCodes(t, reg, "grpc_client_handling_seconds"))
		})
	}
}
