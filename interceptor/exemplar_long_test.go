package interceptor_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// TestLongExemplarValueIsCutWithoutCopy counts calls over gRPC whose
// exemplar value is 3 MiB long. Only the part that fits may be read and
// copied: converting the whole value to runes first cost 7 to 12 MiB per
// call.
func TestLongExemplarValueIsCutWithoutCopy(t *testing.T) {
	const (
		label = "trace_id"
		size  = 3 << 20
		calls = 10
	)
	room := prometheus.ExemplarMaxRunes - utf8.RuneCountInString(label)
	tests := []struct {
		name  string
		value string
		want  string
	}{
		{"ASCII", strings.Repeat("a", size), strings.Repeat("a", room)},
		{"three-byte runes", strings.Repeat("界", size/3), strings.Repeat("界", room)},
		{"invalid UTF-8", strings.Repeat("\xff", size), strings.Repeat("\uFFFD", room)},
		{"invalid UTF-8 past the room", strings.Repeat("b", room) + strings.Repeat("\xff", size), strings.Repeat("b", room)},
		{"short", "0af7651916cd43dd8448eb211c80319c", "0af7651916cd43dd8448eb211c80319c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := clNewStack(t, interceptor.WithHistogram(interceptor.Histogram{
				Buckets:  []float64{1000},
				Exemplar: &interceptor.Exemplar{Label: label, Value: func(context.Context) string { return tt.value }},
			}))
			s.call(t, clSource(1)) // the connection, the series

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range calls {
				s.call(t, clSource(1))
			}
			runtime.ReadMemStats(&after)
			// A call over bufconn allocates some KiB of its own; the
			// exemplar may add at most a few copies of what fits.
			perCall := (after.TotalAlloc - before.TotalAlloc) / calls
			assert.Less(t, perCall, uint64(256<<10), "bytes allocated per call")

			h := histogramOf(t, s.reg, "grpc_server_handling_seconds")
			assert.EqualValues(t, 1+calls, h.GetSampleCount())
			require.Len(t, h.GetBucket(), 1)
			e := h.GetBucket()[0].GetExemplar()
			require.NotNil(t, e)
			require.Len(t, e.GetLabel(), 1)
			assert.Equal(t, label, e.GetLabel()[0].GetName())
			assert.Equal(t, tt.want, e.GetLabel()[0].GetValue())
		})
	}
}
