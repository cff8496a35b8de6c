package a66

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// arExposition is a gathered registry: each family's type and help, and
// each series by its labels. The exporter's own additions (the otel_scope_*
// labels and the target_info family) are left out when it is read.
type arExposition map[string]arFamily

type arFamily struct {
	Type   dto.MetricType
	Help   string
	Series map[string]arSeries // by arLabelKey
}

// arSeries is one series: a counter's or a gauge's value, or a
// histogram's sample count, sum and cumulative buckets.
type arSeries struct {
	Value   float64
	Count   uint64
	Sum     float64
	Bounds  []float64
	Buckets []uint64 // cumulative, one per bound
}

// arGather reads g into an exposition, without target_info and without the
// labels whose names start with otel_scope_.
func arGather(t *testing.T, g prometheus.Gatherer) arExposition {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	e := arExposition{}
	for _, mf := range mfs {
		if mf.GetName() == "target_info" {
			continue
		}
		f := arFamily{Type: mf.GetType(), Help: mf.GetHelp(), Series: map[string]arSeries{}}
		for _, m := range mf.GetMetric() {
			var s arSeries
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				s.Value = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s.Value = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				s.Count, s.Sum = h.GetSampleCount(), h.GetSampleSum()
				for _, b := range h.GetBucket() {
					s.Bounds = append(s.Bounds, b.GetUpperBound())
					s.Buckets = append(s.Buckets, b.GetCumulativeCount())
				}
			default:
				t.Fatalf("family %s has unexpected type %v", mf.GetName(), mf.GetType())
			}
			key := arLabelKey(m.GetLabel())
			_, dup := f.Series[key]
			require.False(t, dup, "family %s has series {%s} twice once the otel_scope_ labels are left out", mf.GetName(), key)
			f.Series[key] = s
		}
		e[mf.GetName()] = f
	}
	return e
}

// arLabelKey renders label pairs as name="value",... in name order, without
// the otel_scope_ labels.
func arLabelKey(lps []*dto.LabelPair) string {
	parts := make([]string, 0, len(lps))
	for _, lp := range lps {
		if strings.HasPrefix(lp.GetName(), "otel_scope_") {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// arIsLatency reports whether family name holds durations (see arDiff).
func arIsLatency(name string) bool { return strings.HasSuffix(name, "_duration_seconds") }

// arDiff lists, one line each, every difference between the plugin's
// exposition (theirs) and ours: a family or series one side lacks, another
// type, help, counter value, sample count or bucket bound, and for sizes
// another bucket count or sum. Empty diffs means the expositions are equal.
//
// A duration is measured by each side with its own clock reads, at its own
// TagRPC and End, which grpc-go calls one handler after the other: a
// goroutine descheduled between the two handlers (under -race, on a busy
// machine) moves one side's call by milliseconds, across any number of
// buckets. So a latency family's bucket counts that differ (with the same
// sample count and bounds) go to timing, to be logged, and its sums are
// not compared.
func arDiff(theirs, ours arExposition) (diffs, timing []string) {
	for _, name := range slices.Sorted(maps.Keys(arUnion(theirs, ours))) {
		t, inT := theirs[name]
		o, inO := ours[name]
		switch {
		case !inT:
			diffs = append(diffs, fmt.Sprintf("%s: only in ours (%d series)", name, len(o.Series)))
			continue
		case !inO:
			diffs = append(diffs, fmt.Sprintf("%s: only in the plugin's (%d series)", name, len(t.Series)))
			continue
		}
		if t.Type != o.Type {
			diffs = append(diffs, fmt.Sprintf("%s: type %v in the plugin's, %v in ours", name, t.Type, o.Type))
		}
		if t.Help != o.Help {
			diffs = append(diffs, fmt.Sprintf("%s: help %q in the plugin's, %q in ours", name, t.Help, o.Help))
		}
		for _, key := range slices.Sorted(maps.Keys(arUnion(t.Series, o.Series))) {
			ts, inT := t.Series[key]
			os, inO := o.Series[key]
			at := fmt.Sprintf("%s{%s}", name, key)
			switch {
			case !inT:
				diffs = append(diffs, fmt.Sprintf("%s: only in ours (%s)", at, os))
				continue
			case !inO:
				diffs = append(diffs, fmt.Sprintf("%s: only in the plugin's (%s)", at, ts))
				continue
			}
			d, tm := arSeriesDiff(arIsLatency(name), ts, os)
			for _, l := range d {
				diffs = append(diffs, at+": "+l)
			}
			for _, l := range tm {
				timing = append(timing, at+": "+l)
			}
		}
	}
	return diffs, timing
}

// arSeriesDiff compares two series of the same family.
func arSeriesDiff(latency bool, t, o arSeries) (diffs, timing []string) {
	if t.Value != o.Value {
		diffs = append(diffs, fmt.Sprintf("value %v in the plugin's, %v in ours", t.Value, o.Value))
	}
	if t.Count != o.Count {
		diffs = append(diffs, fmt.Sprintf("count %d in the plugin's, %d in ours", t.Count, o.Count))
	}
	if !slices.Equal(t.Bounds, o.Bounds) {
		return append(diffs, fmt.Sprintf("bucket bounds %v in the plugin's, %v in ours", t.Bounds, o.Bounds)), nil
	}
	if !latency && t.Sum != o.Sum {
		diffs = append(diffs, fmt.Sprintf("sum %v in the plugin's, %v in ours", t.Sum, o.Sum))
	}
	var off []string
	for i, b := range t.Bounds {
		if t.Buckets[i] != o.Buckets[i] {
			off = append(off, fmt.Sprintf("le=%v: %d in the plugin's, %d in ours", b, t.Buckets[i], o.Buckets[i]))
		}
	}
	if len(off) == 0 {
		return diffs, nil
	}
	if latency && t.Count == o.Count {
		return diffs, off
	}
	return append(diffs, off...), nil
}

func (s arSeries) String() string {
	if s.Bounds == nil {
		return fmt.Sprintf("value %v", s.Value)
	}
	return fmt.Sprintf("count %d, sum %v", s.Count, s.Sum)
}

func arUnion[V any](a, b map[string]V) map[string]struct{} {
	u := make(map[string]struct{}, len(a)+len(b))
	for k := range a {
		u[k] = struct{}{}
	}
	for k := range b {
		u[k] = struct{}{}
	}
	return u
}

// arCounts flattens an exposition to family{labels} → counter value or
// histogram sample count, for expectations written by hand.
func (e arExposition) arCounts() map[string]float64 {
	out := map[string]float64{}
	for name, f := range e {
		for key, s := range f.Series {
			v := s.Value
			if s.Bounds != nil {
				v = float64(s.Count)
			}
			out[fmt.Sprintf("%s{%s}", name, key)] = v
		}
	}
	return out
}

// TestArDiff shows that the comparison reports each kind of difference,
// and that a latency call in another bucket is timing, not a difference.
func TestArDiff(t *testing.T) {
	const lat, size = "x_duration_seconds", "x_size_bytes"
	hist := func(count uint64, sum float64, buckets ...uint64) arSeries {
		return arSeries{Count: count, Sum: sum, Bounds: []float64{0, 1, 2}, Buckets: buckets}
	}
	base := func() arExposition {
		return arExposition{
			"x_total": {Type: dto.MetricType_COUNTER, Help: "h", Series: map[string]arSeries{`a="1"`: {Value: 2}}},
			lat:       {Type: dto.MetricType_HISTOGRAM, Help: "h", Series: map[string]arSeries{`a="1"`: hist(2, 1.5, 1, 1, 2)}},
			size:      {Type: dto.MetricType_HISTOGRAM, Help: "h", Series: map[string]arSeries{`a="1"`: hist(2, 3, 0, 1, 2)}},
		}
	}
	tests := []struct {
		name         string
		change       func(e arExposition)
		diffs, timed int
		mention      string
	}{
		{"equal", func(arExposition) {}, 0, 0, ""},
		{"family missing", func(e arExposition) { delete(e, "x_total") }, 1, 0, "only in the plugin's"},
		{"help", func(e arExposition) { f := e["x_total"]; f.Help = "other"; e["x_total"] = f }, 1, 0, "help"},
		{"series missing", func(e arExposition) { e["x_total"].Series[`a="2"`] = arSeries{Value: 1} }, 1, 0, "only in ours"},
		{"counter value", func(e arExposition) { e["x_total"].Series[`a="1"`] = arSeries{Value: 3} }, 1, 0, "value 2"},
		{"size sum", func(e arExposition) { e[size].Series[`a="1"`] = hist(2, 4, 0, 1, 2) }, 1, 0, "sum 3"},
		{"size bucket", func(e arExposition) { e[size].Series[`a="1"`] = hist(2, 3, 1, 1, 2) }, 1, 0, "le=0"},
		{"latency sum", func(e arExposition) { e[lat].Series[`a="1"`] = hist(2, 1.6, 1, 1, 2) }, 0, 0, ""},
		{"latency one bucket off", func(e arExposition) { e[lat].Series[`a="1"`] = hist(2, 1.5, 0, 1, 2) }, 0, 1, "le=0"},
		{"latency two buckets off", func(e arExposition) { e[lat].Series[`a="1"`] = hist(2, 1.5, 0, 0, 2) }, 0, 2, "le=1"},
		{"latency count", func(e arExposition) { e[lat].Series[`a="1"`] = hist(3, 1.5, 1, 1, 3) }, 2, 0, "count 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ours := base()
			tt.change(ours)
			diffs, timing := arDiff(base(), ours)
			require.Len(t, diffs, tt.diffs, "diffs: %q", diffs)
			require.Len(t, timing, tt.timed, "timing: %q", timing)
			if tt.mention != "" {
				require.Contains(t, strings.Join(append(diffs, timing...), "\n"), tt.mention)
			}
		})
	}
}
