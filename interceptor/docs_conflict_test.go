package interceptor_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// docRegisterer is what every constructor's result can do.
type docRegisterer interface {
	Register(prometheus.Registerer) error
}

// TestConflictErrorsSayWhatCollides checks that registering metrics that
// another collector already exports names the metric, the two things that
// collide and what to do, rather than client_golang's raw "descriptor …
// already exists".
func TestConflictErrorsSayWhatCollides(t *testing.T) {
	histogram := interceptor.WithHistogram(interceptor.Histogram{})
	milvus := func(t *testing.T) docRegisterer {
		m := registry.New()
		require.NoError(t, m.Register(prometheus.NewRegistry()))
		methods, err := methodmap.Default(m)
		require.NoError(t, err)
		ic, err := interceptor.New(methods, histogram)
		require.NoError(t, err)
		return ic
	}
	server := func(t *testing.T) docRegisterer {
		sm, err := interceptor.LegacyServerMetrics(histogram)
		require.NoError(t, err)
		return sm
	}
	tests := []struct {
		name          string
		first, second func(t *testing.T) docRegisterer
		want          []string
	}{
		{
			name:  "the Milvus interceptor and ServerMetrics, both with a histogram",
			first: milvus, second: server,
			want: []string{"ServerMetrics.Register", "grpc_server_handling_seconds", "WithHistogram to one of them"},
		},
		{
			name:  "ServerMetrics and the Milvus interceptor, both with a histogram",
			first: server, second: milvus,
			want: []string{"MilvusCounters.Register", "grpc_server_handling_seconds", "WithHistogram to one of them"},
		},
		{
			name: "a collector of the caller's under a provider name",
			first: func(*testing.T) docRegisterer {
				return docCollector{prometheus.NewCounterVec(prometheus.CounterOpts{Name: "grpc_server_started_total", Help: "mine"}, []string{"grpc_method"})}
			},
			second: server,
			want:   []string{"ServerMetrics.Register", "grpc_server_started_total", "another collector", "its own registry"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			require.NoError(t, tt.first(t).Register(reg))
			err := tt.second(t).Register(reg)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

// docCollector registers a plain collector.
type docCollector struct{ c prometheus.Collector }

func (d docCollector) Register(r prometheus.Registerer) error { return r.Register(d.c) }
