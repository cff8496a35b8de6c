package registry_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

const maxLogical = 1<<registry.LogicalBits - 1 // 262143

func TestComposeParseTS(t *testing.T) {
	tests := []struct {
		name        string
		physical    time.Time
		logical     uint32
		wantTS      uint64 // 0 means: check only the round trip
		wantPhys    time.Time
		wantLogical uint32
	}{
		{
			name:     "epoch",
			physical: time.Unix(0, 0), logical: 0,
			wantTS: 0, wantPhys: time.Unix(0, 0), wantLogical: 0,
		},
		{
			name:     "one millisecond, logical one",
			physical: time.UnixMilli(1), logical: 1,
			wantTS: 1<<18 | 1, wantPhys: time.UnixMilli(1), wantLogical: 1,
		},
		{
			// 2026-01-02T03:04:05.006Z is 1767323045006 ms after the epoch.
			name:     "2026 date",
			physical: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), logical: 9,
			wantTS: 1767323045006<<18 | 9, wantPhys: time.UnixMilli(1767323045006), wantLogical: 9,
		},
		{
			name:     "logical 0",
			physical: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), logical: 0,
			wantTS: 1767323045006 << 18, wantPhys: time.UnixMilli(1767323045006), wantLogical: 0,
		},
		{
			name:     "logical max 2^18-1",
			physical: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), logical: maxLogical,
			wantTS: 1767323045006<<18 | 262143, wantPhys: time.UnixMilli(1767323045006), wantLogical: maxLogical,
		},
		{
			name:     "logical overflow is masked, physical untouched",
			physical: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), logical: 1<<18 | 5,
			wantTS: 1767323045006<<18 | 5, wantPhys: time.UnixMilli(1767323045006), wantLogical: 5,
		},
		{
			name:     "logical all ones is masked",
			physical: time.UnixMilli(7), logical: 1<<32 - 1,
			wantTS: 7<<18 | 262143, wantPhys: time.UnixMilli(7), wantLogical: maxLogical,
		},
		{
			name:     "sub-millisecond part is dropped",
			physical: time.Date(2026, 1, 2, 3, 4, 5, 6_999_999, time.UTC), logical: 3,
			wantTS: 1767323045006<<18 | 3, wantPhys: time.UnixMilli(1767323045006), wantLogical: 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := registry.ComposeTS(tc.physical, tc.logical)
			assert.Equal(t, tc.wantTS, ts, "ComposeTS")
			phys, logical := registry.ParseTS(ts)
			assert.True(t, phys.Equal(tc.wantPhys), "ParseTS(%d) physical = %v, want %v", ts, phys, tc.wantPhys)
			assert.Equal(t, tc.wantLogical, logical, "ParseTS(%d) logical", ts)
			assert.Equal(t, ts, registry.ComposeTS(phys, logical), "ComposeTS(ParseTS(ts))")
		})
	}
}

func TestMod24H(t *testing.T) {
	const day = 24 * 60 * 60 * 1000 // ms
	tests := []struct {
		name string
		ts   uint64
		want uint64
	}{
		{"zero", 0, 0},
		{"logical only", 7, 7},
		{"under a day is unchanged", (day-1)<<18 | 3, (day-1)<<18 | 3},
		{"exactly a day", day << 18, 0},
		{"a day and one ms, logical kept", (day+1)<<18 | 42, 1<<18 | 42},
		// 03:04:05.006 is 11045006 ms into the day; 11045006<<18 | 9.
		{"2026-01-02T03:04:05.006Z", 1767323045006<<18 | 9, 2895382052873},
		// The largest result: 86399999<<18 | 262143.
		{"last ms of a day, logical max", 1767311999999<<18 | maxLogical, 22649241599999},
		{"all bits set", 1<<64 - 1, ((1<<46-1)%day)<<18 | maxLogical},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := registry.Mod24H(tc.ts)
			assert.Equal(t, tc.want, got, "Mod24H(%d)", tc.ts)
			assert.Equal(t, got, registry.Mod24H(got), "Mod24H is not idempotent")
			// Exact as float64: below 2^53, and the round trip is lossless.
			assert.Less(t, got, uint64(1<<53), "Mod24H(%d) is not exact as a float64", tc.ts)
			assert.Equal(t, got, uint64(float64(got)), "Mod24H(%d) is not exact as a float64", tc.ts)
		})
	}
}

// TestFullTimestampIsNotExactAsFloat64 shows why the gauges hold Mod24H: a
// full 2026 hybrid timestamp exceeds 2^53 and loses its low bits in a float64.
func TestFullTimestampIsNotExactAsFloat64(t *testing.T) {
	ts := registry.ComposeTS(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), 9)
	require.NotEqual(t, ts, uint64(float64(ts)), "expected %d to lose precision as a float64", ts)
	m := registry.Mod24H(ts)
	require.Equal(t, m, uint64(float64(m)), "Mod24H(%d) is not exact as a float64", ts)
	_, logical := registry.ParseTS(m)
	assert.Equal(t, uint32(9), logical, "logical part after Mod24H")
}
