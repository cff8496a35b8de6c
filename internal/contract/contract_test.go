package contract_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/internal/contract"
)

// TestContractIsCurrent fails when contract.json is not what the generator
// makes from the sets and the declared domains: a family, a label or a
// domain changed without the file being regenerated.
func TestContractIsCurrent(t *testing.T) {
	c, err := contract.Generate()
	require.NoError(t, err)
	want, err := c.Marshal()
	require.NoError(t, err)
	loaded, err := contract.Load()
	require.NoError(t, err)
	got, err := loaded.Marshal()
	require.NoError(t, err)
	if !bytes.Equal(want, got) {
		t.Fatalf("%s is not current: run go run ./internal/cmd/contractgen and review the difference", contract.File)
	}
}

// TestSetsKeepToTheContract drives every set across its outcomes and fails
// when one writes a family, a label or a value that the checked-in
// contract lacks; and when the contract lists a family no set writes, or a
// value of a domain that the drive never sees, since a query on it would
// find nothing.
func TestSetsKeepToTheContract(t *testing.T) {
	c, err := contract.Load()
	require.NoError(t, err)
	driven, err := contract.Drive()
	require.NoError(t, err)
	require.Len(t, c.Sets, 8, "milvus, provider-server, provider-client, a66, three Milvus 2.6 lines, rootcoord")
	for _, set := range c.Sets {
		t.Run(set.Name, func(t *testing.T) {
			mfs := contract.Gathered(driven, set.Name)
			for _, err := range set.Check(mfs) {
				t.Error(err)
			}
			seen := map[string]map[string]map[string]bool{} // family → label → values
			for _, mf := range mfs {
				seen[mf.GetName()] = map[string]map[string]bool{}
				for _, m := range mf.GetMetric() {
					for _, lp := range m.GetLabel() {
						if seen[mf.GetName()][lp.GetName()] == nil {
							seen[mf.GetName()][lp.GetName()] = map[string]bool{}
						}
						seen[mf.GetName()][lp.GetName()][lp.GetValue()] = true
					}
				}
			}
			for _, f := range set.Families {
				labels, ok := seen[f.Name]
				if !assert.True(t, ok, "the contract lists %s, which the set did not write", f.Name) {
					continue
				}
				for l, d := range f.Domains {
					for _, v := range d {
						assert.True(t, labels[l][v], "%s: the domain of %s has %q, which the set did not write", f.Name, l, v)
					}
				}
			}
		})
	}
}

// TestCheckRefuses checks what Check reports of families that break a
// contract: an unknown family, another type or help, other label names, a
// value outside a domain; and that it accepts an optional label.
func TestCheckRefuses(t *testing.T) {
	set := contract.Set{Name: "s", Families: []contract.Family{{
		Name: "x_total", Type: "counter", Help: "X.", Labels: []string{"status"},
		OptionalLabels: map[string]string{"grpc_code": "Histogram.CodeLabel"},
		Domains:        map[string][]string{"status": {"fail", "total"}, "grpc_code": {"OK"}},
	}}}
	gather := func(register func(*prometheus.Registry)) []*dto.MetricFamily {
		reg := prometheus.NewPedanticRegistry()
		register(reg)
		mfs, err := reg.Gather()
		require.NoError(t, err)
		return mfs
	}
	counter := func(name, help string, labels []string, values ...string) func(*prometheus.Registry) {
		return func(reg *prometheus.Registry) {
			v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
			reg.MustRegister(v)
			v.WithLabelValues(values...).Inc()
		}
	}
	tests := []struct {
		name string
		mfs  []*dto.MetricFamily
		want []string
	}{
		{"keeps to it", gather(counter("x_total", "X.", []string{"status"}, "fail")), nil},
		{"optional label", gather(counter("x_total", "X.", []string{"status", "grpc_code"}, "total", "OK")), nil},
		{"value outside", gather(counter("x_total", "X.", []string{"status"}, "fail_input")),
			[]string{`s: x_total writes status="fail_input", which the contract lacks (domain ["fail" "total"])`}},
		{"unknown family", gather(counter("y_total", "Y.", []string{"status"}, "fail")),
			[]string{"s: writes family y_total, which the contract lacks"}},
		{"other help", gather(counter("x_total", "Z.", []string{"status"}, "fail")),
			[]string{`s: x_total has help "Z.", the contract says "X."`}},
		{"other labels", gather(counter("x_total", "X.", []string{"status", "cause"}, "fail", "user")),
			[]string{"s: x_total writes labels {cause, status}, the contract says {status}"}},
		{"other type", gather(func(reg *prometheus.Registry) {
			g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "x_total", Help: "X."}, []string{"status"})
			reg.MustRegister(g)
			g.WithLabelValues("total").Set(1)
		}), []string{"s: x_total is a gauge, the contract says counter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, err := range set.Check(tt.mfs) {
				got = append(got, err.Error())
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestContractNamesMilvusLines checks the domains that dashboards of
// Milvus 2.6 rely on, in the checked-in file: the status domain of every
// line is the one before v2.6.19, and cause differs only in the value of
// the outcomes without one.
func TestContractNamesMilvusLines(t *testing.T) {
	c, err := contract.Load()
	require.NoError(t, err)
	for line, na := range map[string]string{"v2.6.16": "-", "v2.6.20": "na", "v2.6.21": ""} {
		set, ok := c.Set("milvus26/" + line)
		require.True(t, ok, line)
		f, ok := set.Family("milvus_proxy_req_count")
		require.True(t, ok)
		assert.Equal(t, []string{"abandon", "fail", "rejected", "retry", "success", "total"}, f.Domains["status"], line)
		if na == "-" {
			assert.NotContains(t, f.Labels, "cause", line)
			continue
		}
		assert.True(t, slices.Contains(f.Domains["cause"], na), line)
		assert.Subset(t, f.Domains["cause"], []string{"user", "system", "cancel"}, line)
	}
}

// TestDriveReachesEveryMilvus26Outcome checks that the drive gives every
// (status, cause) pair of Milvus 2.6's lines with a cause, so that a value
// written for one of them alone cannot hide from TestSetsKeepToTheContract.
func TestDriveReachesEveryMilvus26Outcome(t *testing.T) {
	driven, err := contract.Drive()
	require.NoError(t, err)
	for line, na := range map[string]string{"v2.6.20": "na", "v2.6.21": ""} {
		pairs := map[string]bool{}
		for _, mf := range driven["milvus26/"+line] {
			if mf.GetName() != "milvus_proxy_req_count" {
				continue
			}
			for _, m := range mf.GetMetric() {
				l := map[string]string{}
				for _, lp := range m.GetLabel() {
					l[lp.GetName()] = lp.GetValue()
				}
				pairs[l["status"]+"/"+l["cause"]] = true
			}
		}
		want := map[string]bool{}
		for _, p := range []string{"total/" + na, "success/" + na, "retry/" + na, "abandon/" + na,
			"fail/user", "fail/system", "fail/cancel", "rejected/user", "rejected/system", "rejected/cancel"} {
			want[p] = true
		}
		assert.Equal(t, want, pairs, line)
	}
}
