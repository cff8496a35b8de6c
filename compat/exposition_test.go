package compat

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

// exposition is a gathered registry reduced to what the compatibility
// contract covers: each family's type and help, and each series' labels
// (names and values) with its count. Latencies are left out: a counter's
// value is kept, a histogram keeps its sample count and its bucket bounds.
type exposition map[string]family

type family struct {
	Type   dto.MetricType
	Help   string
	Series map[string]sample // by labelKey
}

type sample struct {
	Value  float64   // counter value, or histogram sample count
	Bounds []float64 // histogram bucket upper bounds
}

// gather reads reg into an exposition.
func gather(t *testing.T, reg prometheus.Gatherer) exposition {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	e := exposition{}
	for _, mf := range mfs {
		f := family{Type: mf.GetType(), Help: mf.GetHelp(), Series: map[string]sample{}}
		for _, m := range mf.GetMetric() {
			var s sample
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				s.Value = m.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				s.Value = float64(m.GetHistogram().GetSampleCount())
				for _, b := range m.GetHistogram().GetBucket() {
					s.Bounds = append(s.Bounds, b.GetUpperBound())
				}
			default:
				t.Fatalf("family %s has unexpected type %v", mf.GetName(), mf.GetType())
			}
			f.Series[labelKey(m.GetLabel())] = s
		}
		e[mf.GetName()] = f
	}
	return e
}

// labelKey renders label pairs as name="value",... in name order.
func labelKey(lps []*dto.LabelPair) string {
	parts := make([]string, 0, len(lps))
	for _, lp := range lps {
		parts = append(parts, lp.GetName()+"="+`"`+lp.GetValue()+`"`)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// series builds a labelKey for the generic families.
func series(typ, service, method string, code ...string) string {
	lps := []*dto.LabelPair{
		{Name: new("grpc_type"), Value: new(typ)},
		{Name: new("grpc_service"), Value: new(service)},
		{Name: new("grpc_method"), Value: new(method)},
	}
	if len(code) > 0 {
		lps = append(lps, &dto.LabelPair{Name: new("grpc_code"), Value: new(code[0])})
	}
	return labelKey(lps)
}

// values returns family name's series values, with zero-valued series
// left out when nonzero is set.
func (e exposition) values(name string, nonzero bool) map[string]float64 {
	out := map[string]float64{}
	for k, s := range e[name].Series {
		if !nonzero || s.Value != 0 {
			out[k] = s.Value
		}
	}
	return out
}

// take removes family name's series key from e and returns it.
func (e exposition) take(t *testing.T, name, key string) sample {
	t.Helper()
	f, ok := e[name]
	require.True(t, ok, "no family %s", name)
	s, ok := f.Series[key]
	require.True(t, ok, "no series %s{%s}; have %v", name, key, slices.Sorted(maps.Keys(f.Series)))
	delete(f.Series, key)
	if len(f.Series) == 0 {
		delete(e, name) // as Gather leaves out a family without series
	}
	return s
}

// diff lists, one line each, the families and series in which ours differs
// from theirs: type, help, a series one side lacks, or another count or
// other buckets. Empty means the expositions match.
func diff(theirs, ours exposition) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(unionKeys(theirs, ours))) {
		t, inT := theirs[name]
		o, inO := ours[name]
		switch {
		case !inT:
			out = append(out, fmt.Sprintf("%s: only in grpcmetrics", name))
			continue
		case !inO:
			out = append(out, fmt.Sprintf("%s: only in the provider", name))
			continue
		}
		if t.Type != o.Type {
			out = append(out, fmt.Sprintf("%s: type %v in the provider, %v in grpcmetrics", name, t.Type, o.Type))
		}
		if t.Help != o.Help {
			out = append(out, fmt.Sprintf("%s: help %q in the provider, %q in grpcmetrics", name, t.Help, o.Help))
		}
		for _, key := range slices.Sorted(maps.Keys(unionKeys(t.Series, o.Series))) {
			ts, inT := t.Series[key]
			os, inO := o.Series[key]
			switch {
			case !inT:
				out = append(out, fmt.Sprintf("%s{%s} = %v: only in grpcmetrics", name, key, os.Value))
			case !inO:
				out = append(out, fmt.Sprintf("%s{%s} = %v: only in the provider", name, key, ts.Value))
			case ts.Value != os.Value:
				out = append(out, fmt.Sprintf("%s{%s}: %v in the provider, %v in grpcmetrics", name, key, ts.Value, os.Value))
			case !slices.Equal(ts.Bounds, os.Bounds):
				out = append(out, fmt.Sprintf("%s{%s}: buckets %v in the provider, %v in grpcmetrics", name, key, ts.Bounds, os.Bounds))
			}
		}
	}
	return out
}

func unionKeys[V any](a, b map[string]V) map[string]struct{} {
	u := make(map[string]struct{}, len(a)+len(b))
	for k := range a {
		u[k] = struct{}{}
	}
	for k := range b {
		u[k] = struct{}{}
	}
	return u
}
