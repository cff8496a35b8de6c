package grpcrecorder

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	_ "google.golang.org/grpc" // registers the subchannel metrics
	estats "google.golang.org/grpc/experimental/stats"
)

// The test's own metrics, one of each kind, registered as grpc-go's
// packages register theirs: at init.
var (
	tIntCount = estats.RegisterInt64Count(estats.MetricDescriptor{
		Name: "grpcmetrics.test.int_count", Description: "Int count.", Unit: "{call}",
		Labels: []string{"grpc.target", "test.kind"}, OptionalLabels: []string{"test.opt_a", "test.opt_b"},
	})
	tFloatCount = estats.RegisterFloat64Count(estats.MetricDescriptor{
		Name: "grpcmetrics.test.float_count", Description: "Float count.", Unit: "s",
		Labels: []string{"grpc.target"},
	})
	tIntHisto = estats.RegisterInt64Histo(estats.MetricDescriptor{
		Name: "grpcmetrics.test.int_histo", Description: "Int histogram.", Unit: "By",
		Labels: []string{"grpc.target"}, Bounds: []float64{1, 2, 5},
	})
	tFloatHisto = estats.RegisterFloat64Histo(estats.MetricDescriptor{
		Name: "grpcmetrics.test.float_histo", Description: "Float histogram.", Unit: "s",
		Labels: []string{"grpc.target"}, Bounds: []float64{2, 1}, // not increasing: the SDK's defaults
	})
	tIntGauge = estats.RegisterInt64Gauge(estats.MetricDescriptor{
		Name: "grpcmetrics.test.int_gauge", Description: "Int gauge.", Unit: "1",
		Labels: []string{"grpc.target"},
	})
	tUpDown = estats.RegisterInt64UpDownCount(estats.MetricDescriptor{
		Name: "grpcmetrics.test.up_down", Description: "Up-down count.", Unit: "{x}",
		Labels: []string{"grpc.target"},
	})
	tAsync = estats.RegisterInt64AsyncGauge(estats.MetricDescriptor{
		Name: "grpcmetrics.test.async_gauge", Description: "Async gauge.", Unit: "By",
		Labels: []string{"grpc.target", "test.kind"},
	})
	_ = estats.RegisterFloat64Histo(estats.MetricDescriptor{
		Name: "grpcmetrics.test.histo_le", Description: "A histogram with a label le.", Labels: []string{"le"},
	})
	_ = estats.RegisterInt64Count(estats.MetricDescriptor{
		Name: "grpcmetrics.test.dup_labels", Description: "Two labels written alike.", Labels: []string{"a.b", "a_b"},
	})
	_ = estats.RegisterInt64Count(estats.MetricDescriptor{
		Name: "grpcmetrics.test.int.count", Description: "Written as grpcmetrics.test.int_count is.", Unit: "{call}",
	})
)

var allTest = []string{
	"grpcmetrics.test.int_count", "grpcmetrics.test.float_count", "grpcmetrics.test.int_histo",
	"grpcmetrics.test.float_histo", "grpcmetrics.test.int_gauge", "grpcmetrics.test.up_down",
	"grpcmetrics.test.async_gauge",
}

func newRecorder(t *testing.T, cfg Config) (*Recorder, *prometheus.Registry) {
	t.Helper()
	r, err := New(cfg)
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(r))
	return r, reg
}

// gather returns each series as family{label="value",...} → value (a
// histogram's: its count), and each family's type and help.
func gather(t *testing.T, g prometheus.Gatherer) (series map[string]float64, families map[string]string) {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	series, families = map[string]float64{}, map[string]string{}
	for _, mf := range mfs {
		families[mf.GetName()] = fmt.Sprintf("%v %q", mf.GetType(), mf.GetHelp())
		for _, m := range mf.GetMetric() {
			var parts []string
			for _, lp := range m.GetLabel() {
				parts = append(parts, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			sort.Strings(parts)
			var v float64
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				v = float64(m.GetHistogram().GetSampleCount())
			}
			series[mf.GetName()+"{"+strings.Join(parts, ",")+"}"] = v
		}
	}
	return series, families
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		mention string
	}{
		{"no metric", Config{}, "no metric named"},
		{"a per-call metric", Config{Metrics: []string{"grpc.client.attempt.started"}}, `"grpc.client.attempt.started" is not registered`},
		{"a metric of a package not linked in", Config{Metrics: []string{"grpc.lb.rls.cache_entries"}}, `"grpc.lb.rls.cache_entries" is not registered`},
		{"an unknown optional label", Config{Metrics: []string{"grpc.subchannel.disconnections"}, OptionalLabels: []string{"grpc.security_level"}}, `optional label "grpc.security_level"`},
		{"a negative limit", Config{Metrics: allTest, Limit: -1}, "limit -1 is out of range"},
		{"a limit too large", Config{Metrics: allTest, Limit: MaxLimit + 1}, "out of range"},
		{"a histogram with a label le", Config{Metrics: []string{"grpcmetrics.test.histo_le"}}, "cannot have a label le"},
		{"two labels written alike", Config{Metrics: []string{"grpcmetrics.test.dup_labels"}}, `both written "a_b"`},
		{"two metrics written alike", Config{Metrics: []string{"grpcmetrics.test.int_count", "grpcmetrics.test.int.count"}}, "both written grpcmetrics_test_int_count_total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.cfg)
			require.Nil(t, r)
			require.ErrorContains(t, err, tt.mention)
		})
	}
}

// TestFamilies pins the families' names, types and help as the exporter
// writes them: dots to underscores, unit suffixes, _total on counters,
// _ratio on a gauge of unit 1, up-down counters as gauges.
func TestFamilies(t *testing.T) {
	r, reg := newRecorder(t, Config{Metrics: append([]string{
		"grpc.subchannel.connection_attempts_succeeded", "grpc.subchannel.connection_attempts_failed",
		"grpc.subchannel.disconnections", "grpc.subchannel.open_connections",
	}, allTest...)})
	const target = "dns:///x:1"
	tIntCount.Record(r, 1, target, "k", "a", "b")
	tFloatCount.Record(r, 0.5, target)
	tIntHisto.Record(r, 3, target)
	tFloatHisto.Record(r, 3, target)
	tIntGauge.Record(r, 7, target)
	tUpDown.Record(r, 2, target)
	for _, n := range []string{"grpc.subchannel.connection_attempts_succeeded", "grpc.subchannel.connection_attempts_failed"} {
		(*estats.Int64CountHandle)(estats.DescriptorForMetric(n)).Record(r, 1, target, "", "")
	}
	(*estats.Int64CountHandle)(estats.DescriptorForMetric("grpc.subchannel.disconnections")).Record(r, 1, target, "", "", "unknown")
	(*estats.Int64UpDownCountHandle)(estats.DescriptorForMetric("grpc.subchannel.open_connections")).Record(r, 1, target, "", "", "")
	_, families := gather(t, reg)
	want := map[string]string{
		"grpc_subchannel_connection_attempts_succeeded_total": `COUNTER "EXPERIMENTAL. Number of successful connection attempts."`,
		"grpc_subchannel_connection_attempts_failed_total":    `COUNTER "EXPERIMENTAL. Number of failed connection attempts."`,
		"grpc_subchannel_disconnections_total":                `COUNTER "EXPERIMENTAL. Number of times the selected subchannel becomes disconnected."`,
		"grpc_subchannel_open_connections":                    `GAUGE "EXPERIMENTAL. Number of open connections."`,
		"grpcmetrics_test_int_count_total":                    `COUNTER "Int count."`,
		"grpcmetrics_test_float_count_seconds_total":          `COUNTER "Float count."`,
		"grpcmetrics_test_int_histo_bytes":                    `HISTOGRAM "Int histogram."`,
		"grpcmetrics_test_float_histo_seconds":                `HISTOGRAM "Float histogram."`,
		"grpcmetrics_test_int_gauge_ratio":                    `GAUGE "Int gauge."`,
		"grpcmetrics_test_up_down":                            `GAUGE "Up-down count."`,
		OverflowCounterName:                                   `COUNTER "Total number of values of grpc-go's metrics written under the overflow label tuple \"grpcmetrics-overflow\", because their metric kept as many tuples as its limit."`,
	}
	require.Equal(t, want, families)

	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		switch mf.GetName() {
		case "grpcmetrics_test_int_histo_bytes":
			require.Equal(t, []float64{1, 2, 5}, bounds(mf), "the descriptor's bounds")
		case "grpcmetrics_test_float_histo_seconds":
			require.Equal(t, sdkDefaultBounds(), bounds(mf), "bounds not increasing: the SDK's defaults")
		}
	}
}

func bounds(mf *dto.MetricFamily) []float64 {
	var b []float64
	for _, bk := range mf.GetMetric()[0].GetHistogram().GetBucket() {
		b = append(b, bk.GetUpperBound())
	}
	return b
}

// TestOptionalLabels shows that an optional label is written only when
// named, with the value grpc-go records in its place.
func TestOptionalLabels(t *testing.T) {
	for _, tc := range []struct {
		optional []string
		want     string
	}{
		{nil, `grpcmetrics_test_int_count_total{grpc_target="t",test_kind="k"}`},
		{[]string{"test.opt_b"}, `grpcmetrics_test_int_count_total{grpc_target="t",test_kind="k",test_opt_b="b"}`},
		{[]string{"test.opt_b", "test.opt_a"}, `grpcmetrics_test_int_count_total{grpc_target="t",test_kind="k",test_opt_a="a",test_opt_b="b"}`},
	} {
		t.Run(strings.Join(tc.optional, ","), func(t *testing.T) {
			r, reg := newRecorder(t, Config{Metrics: []string{"grpcmetrics.test.int_count"}, OptionalLabels: tc.optional})
			tIntCount.Record(r, 2, "t", "k", "a", "b")
			series, _ := gather(t, reg)
			require.Equal(t, map[string]float64{
				tc.want: 2,
				OverflowCounterName + `{metric="grpcmetrics_test_int_count_total"}`: 0,
			}, series)
		})
	}
}

// TestLimit shows the bound: at most Limit tuples per metric; a value of
// another tuple goes to the overflow tuple and the overflow counter, and a
// kept tuple stays kept.
func TestLimit(t *testing.T) {
	r, reg := newRecorder(t, Config{Metrics: []string{"grpcmetrics.test.int_count", "grpcmetrics.test.up_down"}, Limit: 2})
	for i := range 5 {
		tIntCount.Record(r, 1, fmt.Sprintf("target-%d", i), "k", "", "")
	}
	tIntCount.Record(r, 10, "target-0", "k", "", "")
	tIntCount.Record(r, 10, "target-4", "k", "", "")
	// An up-down count whose tuple overflows comes back down in the same
	// overflow tuple.
	tUpDown.Record(r, 1, "a")
	tUpDown.Record(r, 1, "b")
	tUpDown.Record(r, 1, "c")
	tUpDown.Record(r, 1, "d")
	tUpDown.Record(r, -1, "d")
	tUpDown.Record(r, -1, "c")
	series, _ := gather(t, reg)
	ov := `grpc_target="grpcmetrics-overflow"`
	require.Equal(t, map[string]float64{
		`grpcmetrics_test_int_count_total{grpc_target="target-0",test_kind="k"}`:        11,
		`grpcmetrics_test_int_count_total{grpc_target="target-1",test_kind="k"}`:        1,
		`grpcmetrics_test_int_count_total{` + ov + `,test_kind="grpcmetrics-overflow"}`: 13,
		`grpcmetrics_test_up_down{grpc_target="a"}`:                                     1,
		`grpcmetrics_test_up_down{grpc_target="b"}`:                                     1,
		`grpcmetrics_test_up_down{` + ov + `}`:                                          0,
		OverflowCounterName + `{metric="grpcmetrics_test_int_count_total"}`:             4,
		OverflowCounterName + `{metric="grpcmetrics_test_up_down"}`:                     4,
	}, series)
}

// TestRecordsItDrops shows what a record that cannot be written does:
// nothing, and no panic.
func TestRecordsItDrops(t *testing.T) {
	r, reg := newRecorder(t, Config{Metrics: []string{"grpcmetrics.test.int_count", "grpcmetrics.test.float_count"}})
	tests := []struct {
		name   string
		record func()
	}{
		{"too few label values", func() { tIntCount.Record(r, 1, "t", "k") }},
		{"too many label values", func() { tIntCount.Record(r, 1, "t", "k", "a", "b", "c") }},
		{"a negative int count", func() { tIntCount.Record(r, -1, "t", "k", "a", "b") }},
		{"a negative float count", func() { tFloatCount.Record(r, -0.5, "t") }},
		{"a metric not turned on", func() { tIntHisto.Record(r, 1, "t") }},
		{"a nil handle", func() { r.RecordInt64Count(nil, 1, "t", "k", "a", "b") }},
		{"a handle of another type", func() { r.RecordInt64Histo((*estats.Int64HistoHandle)(tIntCount.Descriptor()), 1, "t", "k", "a", "b") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NotPanics(t, tt.record)
			series, _ := gather(t, reg)
			require.Equal(t, map[string]float64{
				OverflowCounterName + `{metric="grpcmetrics_test_int_count_total"}`:           0,
				OverflowCounterName + `{metric="grpcmetrics_test_float_count_seconds_total"}`: 0,
			}, series)
		})
	}
}

// TestInvalidUTF8 shows that label values are repaired, and that values
// that repair alike are one tuple.
func TestInvalidUTF8(t *testing.T) {
	r, reg := newRecorder(t, Config{Metrics: []string{"grpcmetrics.test.float_count", "grpcmetrics.test.async_gauge"}})
	tFloatCount.Record(r, 1, "a\xffb")
	tFloatCount.Record(r, 1, "a\xfeb")
	r.RegisterAsyncReporter(estats.AsyncMetricReporterFunc(func(ar estats.AsyncMetricsRecorder) error {
		tAsync.Record(ar, 3, "a\xffb", "k")
		tAsync.Record(ar, 4, "a\xfeb", "k") // the same tuple: the last value
		return nil
	}), tAsync)
	series, _ := gather(t, reg)
	require.Equal(t, 2.0, series["grpcmetrics_test_float_count_seconds_total{grpc_target=\"a\uFFFDb\"}"])
	require.Equal(t, 4.0, series["grpcmetrics_test_async_gauge_bytes{grpc_target=\"a\uFFFDb\",test_kind=\"k\"}"])
}

// TestAsyncGauges shows the async gauges: asked for on each scrape, only
// for the reporters registered and the metrics turned on; a tuple not
// reported has no series; the overflow tuple sums what finds no room; a
// reporter's error is logged once.
func TestAsyncGauges(t *testing.T) {
	core, logs := observer.New(zap.ErrorLevel)
	r, reg := newRecorder(t, Config{Metrics: []string{"grpcmetrics.test.async_gauge"}, Limit: 2, Logger: zap.New(core)})
	var mu sync.Mutex
	values := map[string]int64{"t1": 1, "t2": 2}
	var fail error
	unregister := r.RegisterAsyncReporter(estats.AsyncMetricReporterFunc(func(ar estats.AsyncMetricsRecorder) error {
		mu.Lock()
		defer mu.Unlock()
		for _, target := range []string{"t1", "t2", "t3", "t4"} {
			if v, ok := values[target]; ok {
				tAsync.Record(ar, v, target, "k")
			}
		}
		// A metric it was not registered for is not written.
		(*estats.Int64AsyncGaugeHandle)(tIntGauge.Descriptor()).Record(ar, 9, "t1")
		return fail
	}), tAsync)
	noop := r.RegisterAsyncReporter(estats.AsyncMetricReporterFunc(func(estats.AsyncMetricsRecorder) error {
		t.Error("a reporter of no metric turned on was asked")
		return nil
	}), (*estats.Int64AsyncGaugeHandle)(tIntGauge.Descriptor()))
	noop()

	const fam = "grpcmetrics_test_async_gauge_bytes"
	ov := fam + `{grpc_target="grpcmetrics-overflow",test_kind="grpcmetrics-overflow"}`
	overflowed := OverflowCounterName + `{metric="` + fam + `"}`
	series, _ := gather(t, reg)
	require.Equal(t, map[string]float64{
		fam + `{grpc_target="t1",test_kind="k"}`: 1,
		fam + `{grpc_target="t2",test_kind="k"}`: 2,
		overflowed:                               0,
	}, series)

	mu.Lock()
	values = map[string]int64{"t2": 5, "t3": 3, "t4": 4}
	fail = errors.New("half done")
	mu.Unlock()
	series, _ = gather(t, reg)
	require.Equal(t, map[string]float64{
		fam + `{grpc_target="t2",test_kind="k"}`: 5,
		ov:                                       7,
		overflowed:                               2,
	}, series, "t1 is not reported; t3 and t4 find no room: t1's place stays taken")
	series, _ = gather(t, reg)
	require.Equal(t, 4.0, series[overflowed], "counted on each scrape")
	require.Equal(t, 1, logs.FilterMessageSnippet("async reporter").Len(), "logged once")

	unregister()
	unregister() // twice is fine
	series, _ = gather(t, reg)
	require.Equal(t, map[string]float64{overflowed: 4}, series)
}

// TestConcurrent records, reports and collects from many goroutines, for
// the race detector, and checks the sums.
func TestConcurrent(t *testing.T) {
	r, reg := newRecorder(t, Config{Metrics: allTest, Limit: 8})
	defer r.RegisterAsyncReporter(estats.AsyncMetricReporterFunc(func(ar estats.AsyncMetricsRecorder) error {
		tAsync.Record(ar, 1, "t", "k")
		return nil
	}), tAsync)()
	const goroutines, n = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range n {
				target := fmt.Sprintf("t%d", (g+i)%12)
				tIntCount.Record(r, 1, target, "k", "", "")
				tUpDown.Record(r, 1, target)
				tUpDown.Record(r, -1, target)
				tFloatHisto.Record(r, 0.1, target)
			}
		})
		wg.Go(func() {
			_, err := reg.Gather()
			require.NoError(t, err)
		})
	}
	wg.Wait()
	series, _ := gather(t, reg)
	var count, up, histo float64
	for k, v := range series {
		switch {
		case strings.HasPrefix(k, "grpcmetrics_test_int_count_total{"):
			count += v
		case strings.HasPrefix(k, "grpcmetrics_test_up_down{"):
			up += v
		case strings.HasPrefix(k, "grpcmetrics_test_float_histo_seconds{"):
			histo += v
		}
	}
	require.Equal(t, float64(goroutines*n), count)
	require.Zero(t, up)
	require.Equal(t, float64(goroutines*n), histo)
}
