package interceptor_test

import (
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// TestSourceIDFloodIsBounded sends a million distinct SourceIDs, as a hostile
// or runaway client could, and checks that the series and the heap stay
// bounded by the client limit.
func TestSourceIDFloodIsBounded(t *testing.T) {
	const (
		calls = 1_000_000
		limit = interceptor.DefaultClientLimit
	)
	f := newFixture(t)
	h := returns(&status{}, nil)
	req := &request{Base: &msgBase{}}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for id := range int64(calls) {
		req.Base.SourceID = id
		if _, err := f.call(rcMethod, req, h); err != nil { // no require per call: t.Helper costs
			require.NoError(t, err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)

	vec := f.metrics.RootCoord.CreateCollectionCounter
	series := testutil.CollectAndCount(vec)
	assert.Equal(t, 3*(limit+1), series, "at most limit+1 client_id values, three series each")
	assert.Equal(t, float64(calls-limit), value(vec, registry.OverflowClientLabel, registry.TotalLabel))
	assert.Equal(t, float64(calls), sum(t, vec, registry.TotalLabel))

	// Each tracked client costs a few hundred bytes of series and cache; a
	// million untracked ones must cost nothing that stays. 16 MiB is far
	// above the ~1 MiB the limit allows and far below what a million
	// series would take (hundreds of MiB).
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	require.Less(t, grown, int64(16<<20), "heap grew by %d bytes", grown)
}

// sum adds the values of every series of vec whose "type" label is v.
func sum(t *testing.T, vec *prometheus.CounterVec, v string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(vec))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == registry.LabelType && lp.GetValue() == v {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}
