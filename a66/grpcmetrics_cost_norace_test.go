//go:build !race

package a66

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestArCostBoundsGRPCMetrics checks, with AllocsPerRun, that our recorder
// allocates nothing beyond a no-op recorder when grpc-go records a value
// of a series that exists, a connection made or a connection lost, and
// logs the plugin's figures beside ours. The race detector changes what
// allocates, so the test runs without it (in CI, with TestArCostBounds).
func TestArCostBoundsGRPCMetrics(t *testing.T) {
	allocs := map[string]map[string]float64{}
	for _, in := range arRecorderInstalls() {
		allocs[in.name] = map[string]float64{}
		rec := arRecorderOf(t, in.dial(t))
		for _, ev := range arConnEvents() {
			ev.record(rec)
			allocs[in.name][ev.name] = testing.AllocsPerRun(1000, func() { ev.record(rec) })
		}
	}
	for _, ev := range arConnEvents() {
		noop := allocs["noop"][ev.name]
		t.Logf("%s: beyond the no-op recorder (%v allocs), the plugin %v, ours %v",
			ev.name, noop, allocs["plugin"][ev.name]-noop, allocs["ours"][ev.name]-noop)
		require.LessOrEqual(t, allocs["ours"][ev.name]-noop, 0.0, "%s: ours allocates", ev.name)
	}
}
