package registry_test

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// TestConflictErrorsSayWhatCollidesAndWhatToDo checks that a registration
// conflict reads as more than client_golang's raw message: it names the
// metric, the two things that collide, and what to do.
func TestConflictErrorsSayWhatCollidesAndWhatToDo(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, reg *prometheus.Registry)
		want  []string
	}{
		{
			name: "two registry.New sets register RootCoord",
			setup: func(t *testing.T, reg *prometheus.Registry) {
				require.NoError(t, registry.New().RootCoord.Register(reg))
			},
			want: []string{"milvus_rootcoord_list_of_proxy", "another registry.Metrics", "one registry.Metrics per registerer"},
		},
		{
			name: "a collector of the caller's with a Milvus name and other help",
			setup: func(t *testing.T, reg *prometheus.Registry) {
				require.NoError(t, reg.Register(prometheus.NewGaugeVec(
					prometheus.GaugeOpts{Name: "milvus_rootcoord_list_of_proxy", Help: "mine"}, []string{"client_id"})))
			},
			want: []string{"milvus_rootcoord_list_of_proxy", "a collector that is not this registry.Metrics'", "remove or rename"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			tt.setup(t, reg)
			err := registry.New().RootCoord.Register(reg)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
			assert.NotNil(t, errors.Unwrap(err), "client_golang's error stays wrapped")
		})
	}
}
