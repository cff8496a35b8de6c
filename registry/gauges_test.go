package registry_test

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

const (
	insertTick = "milvus_rootcoord_insert_channel_time_tick"
	ddTick     = "milvus_rootcoord_dd_channel_time_tick"
	dmlTick    = "milvus_proxy_dml_channels_time_tick"
	proxyList  = "milvus_rootcoord_list_of_proxy"
	nodeList   = "milvus_dataCoord_list_of_data_node"
	invalid    = "bad\xff"
)

var (
	ts1 = registry.ComposeTS(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), 9)
	ts2 = registry.ComposeTS(time.Date(2026, 7, 8, 23, 59, 59, 999e6, time.UTC), 1<<registry.LogicalBits-1)
)

// key returns the flattened key of one series, for want maps.
func key(name string, labels ...string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		m[labels[i]] = labels[i+1]
	}
	return seriesKey(name, m)
}

func mod(ts uint64) float64 { return float64(registry.Mod24H(ts)) }

// wantBool returns an error when a Delete/Remove result differs from want.
func wantBool(what string, got, want bool) error {
	if got != want {
		return errors.New(what + " reported the wrong result")
	}
	return nil
}

// TestSetters checks that each setter changes exactly the series it documents
// and nothing else: the whole exposition of the component set is compared.
// The plain DD time-tick gauge always has its one series.
func TestSetters(t *testing.T) {
	tests := []struct {
		name    string
		act     func(m *registry.Metrics) error
		wantErr bool
		want    map[string]float64 // every series of every component
	}{
		{
			name: "nothing set",
			act:  func(*registry.Metrics) error { return nil },
			want: map[string]float64{ddTick: 0},
		},
		{
			name: "SetInsertChannelTimeTick stores Mod24H",
			act:  func(m *registry.Metrics) error { return m.RootCoord.SetInsertChannelTimeTick("by-dev-dml_0_1v0", ts1) },
			want: map[string]float64{key(insertTick, "vchannel", "by-dev-dml_0_1v0"): mod(ts1), ddTick: 0},
		},
		{
			name: "SetInsertChannelTimeTick overwrites, per channel",
			act: func(m *registry.Metrics) error {
				return errors.Join(
					m.RootCoord.SetInsertChannelTimeTick("v0", ts1),
					m.RootCoord.SetInsertChannelTimeTick("v0", ts2),
					m.RootCoord.SetInsertChannelTimeTick("v1", ts1),
				)
			},
			want: map[string]float64{key(insertTick, "vchannel", "v0"): mod(ts2), key(insertTick, "vchannel", "v1"): mod(ts1), ddTick: 0},
		},
		{
			name: "DeleteInsertChannelTimeTick",
			act: func(m *registry.Metrics) error {
				return errors.Join(
					m.RootCoord.SetInsertChannelTimeTick("v0", ts1),
					m.RootCoord.SetInsertChannelTimeTick("v1", ts1),
					wantBool("first delete", m.RootCoord.DeleteInsertChannelTimeTick("v0"), true),
					wantBool("second delete", m.RootCoord.DeleteInsertChannelTimeTick("v0"), false),
				)
			},
			want: map[string]float64{key(insertTick, "vchannel", "v1"): mod(ts1), ddTick: 0},
		},
		{
			name: "SetDDChannelTimeTick stores Mod24H",
			act: func(m *registry.Metrics) error {
				m.RootCoord.SetDDChannelTimeTick(ts2)
				return nil
			},
			want: map[string]float64{ddTick: mod(ts2)},
		},
		{
			name: "ProxyUp and ProxyDown count sessions per client",
			act: func(m *registry.Metrics) error {
				return errors.Join(
					m.RootCoord.ProxyUp("client_1"),
					m.RootCoord.ProxyUp("client_1"),
					m.RootCoord.ProxyDown("client_1"),
					m.RootCoord.ProxyUp("client_2"),
				)
			},
			want: map[string]float64{key(proxyList, "client_id", "client_1"): 1, key(proxyList, "client_id", "client_2"): 1, ddTick: 0},
		},
		{
			name: "ProxyDown without ProxyUp goes negative, like Milvus's Dec",
			act:  func(m *registry.Metrics) error { return m.RootCoord.ProxyDown("client_3") },
			want: map[string]float64{key(proxyList, "client_id", "client_3"): -1, ddTick: 0},
		},
		{
			name: "RemoveProxy deletes the series",
			act: func(m *registry.Metrics) error {
				return errors.Join(
					m.RootCoord.ProxyUp("client_1"),
					m.RootCoord.ProxyUp("client_2"),
					wantBool("first remove", m.RootCoord.RemoveProxy("client_1"), true),
					wantBool("second remove", m.RootCoord.RemoveProxy("client_1"), false),
				)
			},
			want: map[string]float64{key(proxyList, "client_id", "client_2"): 1, ddTick: 0},
		},
		{
			name: "SetDmlChannelTimeTick stores Mod24H",
			act:  func(m *registry.Metrics) error { return m.Proxy.SetDmlChannelTimeTick("by-dev-dml_0", ts1) },
			want: map[string]float64{key(dmlTick, "pchan", "by-dev-dml_0"): mod(ts1), ddTick: 0},
		},
		{
			name: "DeleteDmlChannelTimeTick",
			act: func(m *registry.Metrics) error {
				return errors.Join(
					m.Proxy.SetDmlChannelTimeTick("p0", ts1),
					wantBool("first delete", m.Proxy.DeleteDmlChannelTimeTick("p0"), true),
					wantBool("second delete", m.Proxy.DeleteDmlChannelTimeTick("p0"), false),
				)
			},
			want: map[string]float64{ddTick: 0},
		},
		{
			name: "SetDataNodes sets, AddDataNodes adds",
			act: func(m *registry.Metrics) error {
				return errors.Join(
					m.DataCoord.SetDataNodes(registry.DataNodeOnline, 5),
					m.DataCoord.SetDataNodes(registry.DataNodeOnline, 3),
					m.DataCoord.AddDataNodes(registry.DataNodeOnline, 2),
					m.DataCoord.AddDataNodes(registry.DataNodeOffline, 1),
					m.DataCoord.AddDataNodes(registry.DataNodeOffline, -1),
				)
			},
			want: map[string]float64{key(nodeList, "status", "online"): 5, key(nodeList, "status", "offline"): 0, ddTick: 0},
		},
		// Invalid UTF-8 label values: an error, nothing recorded, no panic.
		{
			name: "SetInsertChannelTimeTick invalid UTF-8", wantErr: true,
			act:  func(m *registry.Metrics) error { return m.RootCoord.SetInsertChannelTimeTick(invalid, ts1) },
			want: map[string]float64{ddTick: 0},
		},
		{
			name: "ProxyUp invalid UTF-8", wantErr: true,
			act:  func(m *registry.Metrics) error { return m.RootCoord.ProxyUp(invalid) },
			want: map[string]float64{ddTick: 0},
		},
		{
			name: "ProxyDown invalid UTF-8", wantErr: true,
			act:  func(m *registry.Metrics) error { return m.RootCoord.ProxyDown(invalid) },
			want: map[string]float64{ddTick: 0},
		},
		{
			name: "SetDmlChannelTimeTick invalid UTF-8", wantErr: true,
			act:  func(m *registry.Metrics) error { return m.Proxy.SetDmlChannelTimeTick(invalid, ts1) },
			want: map[string]float64{ddTick: 0},
		},
		{
			name: "SetDataNodes invalid UTF-8", wantErr: true,
			act:  func(m *registry.Metrics) error { return m.DataCoord.SetDataNodes(invalid, 1) },
			want: map[string]float64{ddTick: 0},
		},
		{
			name: "AddDataNodes invalid UTF-8", wantErr: true,
			act:  func(m *registry.Metrics) error { return m.DataCoord.AddDataNodes(invalid, 1) },
			want: map[string]float64{ddTick: 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := registry.New()
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, m.Register(reg))
			if err := tc.act(m); tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.want, flatten(gather(t, reg)), "every series of every component")
		})
	}
}

// TestTimeTickSettersStoreMod24H reads each time-tick child back with
// testutil.ToFloat64 and checks that it converts back to Mod24H(ts) exactly.
func TestTimeTickSettersStoreMod24H(t *testing.T) {
	stamps := []uint64{0, ts1, ts2, 1<<64 - 1}
	setters := []struct {
		name string
		set  func(m *registry.Metrics, ts uint64) (prometheus.Collector, error)
	}{
		{"SetInsertChannelTimeTick", func(m *registry.Metrics, ts uint64) (prometheus.Collector, error) {
			return m.RootCoord.InsertChannelTimeTick.WithLabelValues("v"), m.RootCoord.SetInsertChannelTimeTick("v", ts)
		}},
		{"SetDDChannelTimeTick", func(m *registry.Metrics, ts uint64) (prometheus.Collector, error) {
			m.RootCoord.SetDDChannelTimeTick(ts)
			return m.RootCoord.DDChannelTimeTick, nil
		}},
		{"SetDmlChannelTimeTick", func(m *registry.Metrics, ts uint64) (prometheus.Collector, error) {
			return m.Proxy.DmlChannelTimeTick.WithLabelValues("p"), m.Proxy.SetDmlChannelTimeTick("p", ts)
		}},
	}
	for _, s := range setters {
		t.Run(s.name, func(t *testing.T) {
			m := registry.New()
			for _, ts := range stamps {
				child, err := s.set(m, ts)
				require.NoError(t, err)
				got, want := testutil.ToFloat64(child), registry.Mod24H(ts)
				assert.Equal(t, want, uint64(got), "ts %d: gauge read as uint64", ts)
				assert.Equal(t, float64(want), got, "ts %d: gauge", ts)
			}
		})
	}
}
