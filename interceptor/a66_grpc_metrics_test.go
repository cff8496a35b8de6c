package interceptor_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	estats "google.golang.org/grpc/experimental/stats"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// axSubchannelMetrics are grpc-go's four subchannel metrics.
func axSubchannelMetrics() *stats.MetricSet {
	return stats.NewMetricSet(
		"grpc.subchannel.connection_attempts_succeeded",
		"grpc.subchannel.connection_attempts_failed",
		"grpc.subchannel.disconnections",
		"grpc.subchannel.open_connections",
	)
}

func TestNewA66RefusesGRPCMetricsItCannotWrite(t *testing.T) {
	tests := []struct {
		name    string
		m       interceptor.GRPCMetrics
		mention string
	}{
		{"no set", interceptor.GRPCMetrics{}, "WithGRPCMetrics: no metric named"},
		{"an empty set", interceptor.GRPCMetrics{Metrics: stats.NewMetricSet()}, "WithGRPCMetrics: no metric named"},
		{"a per-call metric", interceptor.GRPCMetrics{Metrics: stats.NewMetricSet("grpc.client.attempt.started")}, `"grpc.client.attempt.started" is not registered`},
		{"a package not imported", interceptor.GRPCMetrics{Metrics: stats.NewMetricSet("grpc.lb.wrr.rr_fallback")}, `"grpc.lb.wrr.rr_fallback" is not registered`},
		{"an optional label of no metric named", interceptor.GRPCMetrics{Metrics: stats.NewMetricSet("grpc.subchannel.connection_attempts_failed"), OptionalLabels: []string{"grpc.disconnect_error"}}, `optional label "grpc.disconnect_error"`},
		{"a limit out of range", interceptor.GRPCMetrics{Metrics: axSubchannelMetrics(), Limit: interceptor.MaxGRPCMetricsLimit + 1}, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := interceptor.NewA66(interceptor.WithGRPCMetrics(tt.m))
			require.Nil(t, a)
			require.ErrorContains(t, err, "interceptor: NewA66: WithGRPCMetrics: ")
			require.ErrorContains(t, err, tt.mention)
		})
	}
}

// TestA66ServerHandlerIsARecorderOnlyWithGRPCMetrics: grpc-go hands its
// metrics to the stats handlers that implement its recorder interface; an
// A66 without WithGRPCMetrics does not make grpc-go record to it.
func TestA66ServerHandlerIsARecorderOnlyWithGRPCMetrics(t *testing.T) {
	off, err := interceptor.NewA66()
	require.NoError(t, err)
	_, ok := off.ServerStatsHandler().(estats.MetricsRecorder)
	require.False(t, ok, "without WithGRPCMetrics")
	on, err := interceptor.NewA66(interceptor.WithGRPCMetrics(interceptor.GRPCMetrics{Metrics: axSubchannelMetrics()}))
	require.NoError(t, err)
	_, ok = on.ServerStatsHandler().(estats.MetricsRecorder)
	require.True(t, ok, "with WithGRPCMetrics")
	require.Same(t, on.ServerStatsHandler(), on.ServerStatsHandler())
}

// axProbe is a stats handler that does nothing but tell, on events, each
// value grpc-go records through it. Installed after another recorder on a
// channel, it hears of a value once that recorder has written it.
type axProbe struct {
	estats.UnimplementedMetricsRecorder
	events chan string
}

func (p *axProbe) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (p *axProbe) HandleRPC(context.Context, stats.RPCStats)                         {}
func (p *axProbe) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (p *axProbe) HandleConn(context.Context, stats.ConnStats)                       {}

func (p *axProbe) RecordInt64Count(h *estats.Int64CountHandle, incr int64, _ ...string) {
	p.events <- fmt.Sprintf("%s %+d", h.Descriptor().Name, incr)
}

func (p *axProbe) RecordInt64UpDownCount(h *estats.Int64UpDownCountHandle, incr int64, _ ...string) {
	p.events <- fmt.Sprintf("%s %+d", h.Descriptor().Name, incr)
}

// await waits for the events want, in any order.
func (p *axProbe) await(t *testing.T, want ...string) {
	t.Helper()
	var got []string
	for range want {
		select {
		case e := <-p.events:
			got = append(got, e)
		case <-t.Context().Done():
			t.Fatalf("waiting for %q, got %q", want, got)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	require.Equal(t, want, got)
}

// axValues returns every series of the families whose names start with
// one of prefixes, as family{label="value",...} → value.
func axValues(t *testing.T, reg *prometheus.Registry, prefixes ...string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(mf.GetName(), p) }) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var parts []string
			for _, lp := range m.GetLabel() {
				parts = append(parts, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			v := m.GetCounter().GetValue()
			if mf.GetType() == dto.MetricType_GAUGE {
				v = m.GetGauge().GetValue()
			}
			out[mf.GetName()+"{"+strings.Join(parts, ",")+"}"] = v
		}
	}
	return out
}

// TestA66WritesSubchannelMetrics installs an A66 with the subchannel
// metrics on a connection and checks what one connection that opens and
// closes writes, with the optional label grpc.security_level.
func TestA66WritesSubchannelMetrics(t *testing.T) {
	a, err := interceptor.NewA66(interceptor.WithGRPCMetrics(interceptor.GRPCMetrics{
		Metrics:        axSubchannelMetrics(),
		OptionalLabels: []string{"grpc.security_level"},
	}))
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, a.Register(reg))
	probe := &axProbe{events: make(chan string, 16)}
	cc, stop := axServe(t, nil, append(a.DialOptions(), grpc.WithStatsHandler(probe)), nil)
	_, err = testpb.NewTestServiceClient(cc).EmptyCall(t.Context(), &testpb.Empty{})
	require.NoError(t, err)
	probe.await(t, "grpc.subchannel.connection_attempts_succeeded +1", "grpc.subchannel.open_connections +1")

	const target = `grpc_target="passthrough:///bufnet"`
	require.Equal(t, map[string]float64{
		`grpc_subchannel_connection_attempts_succeeded_total{` + target + `}`:                                  1,
		`grpc_subchannel_open_connections{grpc_security_level="NoSecurity",` + target + `}`:                    1,
		`grpcmetrics_grpc_metric_overflow_total{metric="grpc_subchannel_connection_attempts_failed_total"}`:    0,
		`grpcmetrics_grpc_metric_overflow_total{metric="grpc_subchannel_connection_attempts_succeeded_total"}`: 0,
		`grpcmetrics_grpc_metric_overflow_total{metric="grpc_subchannel_disconnections_total"}`:                0,
		`grpcmetrics_grpc_metric_overflow_total{metric="grpc_subchannel_open_connections"}`:                    0,
	}, axValues(t, reg, "grpc_subchannel_", "grpcmetrics_grpc_metric_"), "connected")

	stop()
	probe.await(t, "grpc.subchannel.disconnections +1", "grpc.subchannel.open_connections -1")
	got := axValues(t, reg, "grpc_subchannel_")
	require.Equal(t, map[string]float64{
		`grpc_subchannel_connection_attempts_succeeded_total{` + target + `}`:               1,
		`grpc_subchannel_open_connections{grpc_security_level="NoSecurity",` + target + `}`: 0,
		`grpc_subchannel_disconnections_total{` + target + `}`:                              1,
	}, got, "closed")
}
