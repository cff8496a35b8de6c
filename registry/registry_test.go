package registry_test

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// Metric types as the exposition names them.
const (
	COUNTER = "COUNTER"
	GAUGE   = "GAUGE"
)

// seedMetric is one collector of the seed (Milvus's internal/metrics/metrics.go),
// written out literally from it.
type seedMetric struct {
	seedVar string   // the seed's variable name
	fqName  string   // namespace_subsystem_name
	help    string   // help string
	typ     string   // COUNTER or GAUGE
	labels  []string // label names, in the seed's order
}

// seedTable lists the seed's 55 collectors in the seed's order, written out
// literally from the seed and checked against it rather than derived from the
// package, so that a typo on either side fails the tests.
var seedTable = []seedMetric{
	{"RootCoordProxyLister", "milvus_rootcoord_list_of_proxy", "List of proxy nodes which have registered with etcd", GAUGE, []string{"client_id"}},
	{"RootCoordCreateCollectionCounter", "milvus_rootcoord_create_collection_total", "Counter of create collection", COUNTER, []string{"client_id", "type"}},
	{"RootCoordDropCollectionCounter", "milvus_rootcoord_drop_collection_total", "Counter of drop collection", COUNTER, []string{"client_id", "type"}},
	{"RootCoordHasCollectionCounter", "milvus_rootcoord_has_collection_total", "Counter of has collection", COUNTER, []string{"client_id", "type"}},
	{"RootCoordDescribeCollectionCounter", "milvus_rootcoord_describe_collection_total", "Counter of describe collection", COUNTER, []string{"client_id", "type"}},
	{"RootCoordShowCollectionsCounter", "milvus_rootcoord_show_collections_total", "Counter of show collections", COUNTER, []string{"client_id", "type"}},
	{"RootCoordCreatePartitionCounter", "milvus_rootcoord_create_partition_total", "Counter of create partition", COUNTER, []string{"client_id", "type"}},
	{"RootCoordDropPartitionCounter", "milvus_rootcoord_drop_partition_total", "Counter of drop partition", COUNTER, []string{"client_id", "type"}},
	{"RootCoordHasPartitionCounter", "milvus_rootcoord_has_partition_total", "Counter of has partition", COUNTER, []string{"client_id", "type"}},
	{"RootCoordShowPartitionsCounter", "milvus_rootcoord_show_partitions_total", "Counter of show partitions", COUNTER, []string{"client_id", "type"}},
	{"RootCoordCreateIndexCounter", "milvus_rootcoord_create_index_total", "Counter of create index", COUNTER, []string{"client_id", "type"}},
	{"RootCoordDropIndexCounter", "milvus_rootcoord_drop_index_total", "Counter of drop index", COUNTER, []string{"client_id", "type"}},
	{"RootCoordDescribeIndexCounter", "milvus_rootcoord_describe_index_total", "Counter of describe index", COUNTER, []string{"client_id", "type"}},
	{"RootCoordDescribeSegmentCounter", "milvus_rootcoord_describe_segment_total", "Counter of describe segment", COUNTER, []string{"client_id", "type"}},
	{"RootCoordShowSegmentsCounter", "milvus_rootcoord_show_segments_total", "Counter of show segments", COUNTER, []string{"client_id", "type"}},
	{"RootCoordInsertChannelTimeTick", "milvus_rootcoord_insert_channel_time_tick", "Time tick of insert Channel in 24H", GAUGE, []string{"vchannel"}},
	{"RootCoordDDChannelTimeTick", "milvus_rootcoord_dd_channel_time_tick", "Time tick of dd Channel in 24H", GAUGE, []string{}},
	{"ProxyCreateCollectionCounter", "milvus_proxy_create_collection_total", "Counter of create collection", COUNTER, []string{"status"}},
	{"ProxyDropCollectionCounter", "milvus_proxy_drop_collection_total", "Counter of drop collection", COUNTER, []string{"status"}},
	{"ProxyHasCollectionCounter", "milvus_proxy_has_collection_total", "Counter of has collection", COUNTER, []string{"status"}},
	{"ProxyLoadCollectionCounter", "milvus_proxy_load_collection_total", "Counter of load collection", COUNTER, []string{"status"}},
	{"ProxyReleaseCollectionCounter", "milvus_proxy_release_collection_total", "Counter of release collection", COUNTER, []string{"status"}},
	{"ProxyDescribeCollectionCounter", "milvus_proxy_describe_collection_total", "Counter of describe collection", COUNTER, []string{"status"}},
	{"ProxyGetCollectionStatisticsCounter", "milvus_proxy_get_collection_statistics_total", "Counter of get collection statistics", COUNTER, []string{"status"}},
	{"ProxyShowCollectionsCounter", "milvus_proxy_show_collections_total", "Counter of show collections", COUNTER, []string{"status"}},
	{"ProxyCreatePartitionCounter", "milvus_proxy_create_partition_total", "Counter of create partition", COUNTER, []string{"status"}},
	{"ProxyDropPartitionCounter", "milvus_proxy_drop_partition_total", "Counter of drop partition", COUNTER, []string{"status"}},
	{"ProxyHasPartitionCounter", "milvus_proxy_has_partition_total", "Counter of has partition", COUNTER, []string{"status"}},
	{"ProxyLoadPartitionsCounter", "milvus_proxy_load_partitions_total", "Counter of load partitions", COUNTER, []string{"status"}},
	{"ProxyReleasePartitionsCounter", "milvus_proxy_release_partitions_total", "Counter of release partitions", COUNTER, []string{"status"}},
	{"ProxyGetPartitionStatisticsCounter", "milvus_proxy_get_partition_statistics_total", "Counter of get partition statistics", COUNTER, []string{"status"}},
	{"ProxyShowPartitionsCounter", "milvus_proxy_show_partitions_total", "Counter of show partitions", COUNTER, []string{"status"}},
	{"ProxyCreateIndexCounter", "milvus_proxy_create_index_counter", "Counter of create index", COUNTER, []string{"status"}},
	{"ProxyDescribeIndexCounter", "milvus_proxy_describe_index_counter", "Counter of describe index", COUNTER, []string{"status"}},
	{"ProxyGetIndexStateCounter", "milvus_proxy_get_index_state_counter", "Counter of get index state", COUNTER, []string{"status"}},
	{"ProxyGetIndexBuildProgressCounter", "milvus_proxy_get_index_build_progress_total", "Counter of get index build progress", COUNTER, []string{"status"}},
	{"ProxyDropIndexCounter", "milvus_proxy_drop_index_total", "Counter of drop index", COUNTER, []string{"status"}},
	{"ProxyInsertCounter", "milvus_proxy_insert_total", "Counter of insert", COUNTER, []string{"status"}},
	{"ProxySearchCounter", "milvus_proxy_search_total", "Counter of search", COUNTER, []string{"status"}},
	{"ProxyRetrieveCounter", "milvus_proxy_retrieve_total", "Counter of retrieve", COUNTER, []string{"status"}},
	{"ProxyFlushCounter", "milvus_proxy_flush_total", "Counter of flush", COUNTER, []string{"status"}},
	{"ProxyQueryCounter", "milvus_proxy_query_total", "Counter of query", COUNTER, []string{"status"}},
	{"ProxyGetPersistentSegmentInfoCounter", "milvus_proxy_get_persistent_segment_info_total", "Counter of get persistent segment info", COUNTER, []string{"status"}},
	{"ProxyGetQuerySegmentInfoCounter", "milvus_proxy_get_query_segment_info_total", "Counter of get query segment info", COUNTER, []string{"status"}},
	{"ProxyDummyCounter", "milvus_proxy_dummy_total", "Counter of dummy", COUNTER, []string{"status"}},
	{"ProxyRegisterLinkCounter", "milvus_proxy_register_link_total", "Counter of register link", COUNTER, []string{"status"}},
	{"ProxyGetComponentStatesCounter", "milvus_proxy_get_component_states_total", "Counter of get component states", COUNTER, []string{"status"}},
	{"ProxyGetStatisticsChannelCounter", "milvus_proxy_get_statistics_channel_total", "Counter of get statistics channel", COUNTER, []string{"status"}},
	{"ProxyInvalidateCollectionMetaCacheCounter", "milvus_proxy_invalidate_collection_meta_cache_total", "Counter of invalidate collection meta cache", COUNTER, []string{"status"}},
	{"ProxyGetDdChannelCounter", "milvus_proxy_get_dd_channel_total", "Counter of get dd channel", COUNTER, []string{"status"}},
	{"ProxyReleaseDQLMessageStreamCounter", "milvus_proxy_release_dql_message_stream_total", "Counter of release dql message stream", COUNTER, []string{"status"}},
	{"ProxyDmlChannelTimeTick", "milvus_proxy_dml_channels_time_tick", "Time tick of dml channels", GAUGE, []string{"pchan"}},
	{"DataCoordDataNodeList", "milvus_dataCoord_list_of_data_node", "List of data nodes registered within etcd", GAUGE, []string{"status"}},
	{"DataNodeFlushSegmentsCounter", "milvus_dataNode_flush_segments_total", "Counter of flush segments", COUNTER, []string{"type"}},
	{"DataNodeWatchDmChannelsCounter", "milvus_dataNode_watch_dm_channels_total", "Counter of watch dm channel", COUNTER, []string{"type"}},
}

// TestMain checks, before any test can create or register anything, that
// importing the package registered nothing on the default registry.
func TestMain(m *testing.M) {
	if err := checkNothingRegisteredAtImport(); err != nil {
		fmt.Fprintln(os.Stderr, "registry_test:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func checkNothingRegisteredAtImport() error {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return fmt.Errorf("gathering the default registry: %w", err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "milvus_") {
			return fmt.Errorf("%s is registered on the default registry at import time", mf.GetName())
		}
	}
	// A vector without series does not show in Gather, so also check that
	// every seed name is still free on the default registerer.
	probe := registry.New()
	if err := probe.Register(prometheus.DefaultRegisterer); err != nil {
		return fmt.Errorf("a seed name is taken on the default registry at import time: %w", err)
	}
	for _, c := range probe.Collectors() {
		if !prometheus.DefaultRegisterer.Unregister(c) {
			return errors.New("could not unregister the import-time probe")
		}
	}
	return nil
}

// emitOne makes every vector in cs hold one series, so that it shows in
// Gather. Label values are positional markers "pos0", "pos1", … so that a
// test can recover the order of the label names.
func emitOne(t *testing.T, cs []prometheus.Collector) {
	t.Helper()
	for _, c := range cs {
		require.True(t, emitSeries(c), "could not create a series in %T", c)
	}
}

func emitSeries(c prometheus.Collector) bool {
	const maxLabels = 4
	for n := 0; n <= maxLabels; n++ {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprint("pos", i)
		}
		var err error
		switch v := c.(type) {
		case *prometheus.CounterVec:
			_, err = v.GetMetricWithLabelValues(vals...)
		case *prometheus.GaugeVec:
			_, err = v.GetMetricWithLabelValues(vals...)
		case prometheus.Metric:
			return true // a plain metric always has its one series
		default:
			return false
		}
		if err == nil {
			return true
		}
	}
	return false
}

// family is the part of a gathered metric family that the tests compare.
type family struct {
	help, typ string
	series    []series
}

type series struct {
	labels map[string]string
	value  float64
}

// gather gathers g, failing the test on error, and returns the families by name.
func gather(t *testing.T, g prometheus.Gatherer) map[string]family {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err, "Gather")
	out := make(map[string]family, len(mfs))
	for _, mf := range mfs {
		f := family{help: mf.GetHelp(), typ: mf.GetType().String()}
		for _, m := range mf.GetMetric() {
			s := series{labels: map[string]string{}}
			for _, lp := range m.GetLabel() {
				s.labels[lp.GetName()] = lp.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				s.value = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				s.value = m.GetGauge().GetValue()
			}
			f.series = append(f.series, s)
		}
		out[mf.GetName()] = f
	}
	return out
}

// flatten returns every series of fams as `name{l="v",…}` → value, with the
// label names sorted.
func flatten(fams map[string]family) map[string]float64 {
	out := map[string]float64{}
	for name, f := range fams {
		for _, s := range f.series {
			out[seriesKey(name, s.labels)] = s.value
		}
	}
	return out
}

func seriesKey(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	var parts []string
	for k, v := range labels {
		parts = append(parts, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

func familyNames(fams map[string]family) []string {
	var names []string
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// seedNames returns the sorted fqNames of the table rows whose seed variable
// starts with prefix ("" for all).
func seedNames(prefix string) []string {
	var names []string
	for _, r := range seedTable {
		if strings.HasPrefix(r.seedVar, prefix) {
			names = append(names, r.fqName)
		}
	}
	sort.Strings(names)
	return names
}

// componentPrefixes are the seed's variable-name prefixes, which are also the
// field names of [registry.Metrics].
var componentPrefixes = []string{"RootCoord", "Proxy", "DataCoord", "DataNode"}

// seedField finds the field of m that holds the seed variable v: the
// component is v's prefix, the field is the rest.
func seedField(m *registry.Metrics, v string) (prometheus.Collector, error) {
	for _, p := range componentPrefixes {
		rest, ok := strings.CutPrefix(v, p)
		if !ok {
			continue
		}
		comp := reflect.ValueOf(m).Elem().FieldByName(p)
		if !comp.IsValid() {
			return nil, fmt.Errorf("Metrics has no field %s", p)
		}
		f := comp.Elem().FieldByName(rest)
		if !f.IsValid() {
			return nil, fmt.Errorf("%s has no field %s", p, rest)
		}
		c, ok := f.Interface().(prometheus.Collector)
		if !ok {
			return nil, fmt.Errorf("%s.%s is a %s, not a Collector", p, rest, f.Type())
		}
		return c, nil
	}
	return nil, fmt.Errorf("%s has no known component prefix", v)
}

func TestSeedTableIsConsistent(t *testing.T) {
	assert.Len(t, seedTable, 55, "the seed has 55 collectors")
	vars, names := map[string]bool{}, map[string]bool{}
	for _, r := range seedTable {
		assert.False(t, vars[r.seedVar] || names[r.fqName], "duplicate row %s / %s", r.seedVar, r.fqName)
		vars[r.seedVar], names[r.fqName] = true, true
	}
	m := registry.New()
	for _, tc := range []struct {
		prefix string
		got    int
	}{
		{"RootCoord", len(m.RootCoord.Collectors())},
		{"Proxy", len(m.Proxy.Collectors())},
		{"DataCoord", len(m.DataCoord.Collectors())},
		{"DataNode", len(m.DataNode.Collectors())},
		{"", len(m.Collectors())},
	} {
		assert.Equal(t, len(seedNames(tc.prefix)), tc.got, "collectors of component %q against the seed's", tc.prefix)
	}
}

// TestExpositionMatchesSeed registers everything on one pedantic registry and
// checks each seed collector's name, help, type and label names (in order),
// that the seed variable maps to the field of that name, and that there is no
// other family.
func TestExpositionMatchesSeed(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := registry.New()
	require.NoError(t, m.Register(reg))
	emitOne(t, m.Collectors())
	fams := gather(t, reg)

	for _, row := range seedTable {
		t.Run(row.seedVar, func(t *testing.T) {
			f, ok := fams[row.fqName]
			require.True(t, ok, "no family %s", row.fqName)
			assert.Equal(t, row.help, f.help, "help")
			assert.Equal(t, row.typ, f.typ, "type")
			require.Len(t, f.series, 1)
			got := make([]string, len(f.series[0].labels))
			for name, val := range f.series[0].labels {
				var i int
				_, err := fmt.Sscanf(val, "pos%d", &i)
				require.NoError(t, err, "label %s has unexpected value %q", name, val)
				require.True(t, i >= 0 && i < len(got), "label %s has unexpected value %q", name, val)
				got[i] = name
			}
			assert.Equal(t, row.labels, got, "label names, in this order")

			c, err := seedField(m, row.seedVar)
			require.NoError(t, err)
			assert.Equal(t, 1, testutil.CollectAndCount(c, row.fqName), "series named %s collected by the field for %s", row.fqName, row.seedVar)
		})
	}

	assert.Equal(t, seedNames(""), familyNames(fams), "families, against the seed's")
}

// component describes one component of [registry.Metrics] for table tests.
type component struct {
	name     string // the seed variable prefix; "" for Metrics as a whole
	register func(*registry.Metrics, prometheus.Registerer) error
	coll     func(*registry.Metrics) []prometheus.Collector
	empty    bool
}

var components = []component{
	{"RootCoord", func(m *registry.Metrics, r prometheus.Registerer) error { return m.RootCoord.Register(r) },
		func(m *registry.Metrics) []prometheus.Collector { return m.RootCoord.Collectors() }, false},
	{"Proxy", func(m *registry.Metrics, r prometheus.Registerer) error { return m.Proxy.Register(r) },
		func(m *registry.Metrics) []prometheus.Collector { return m.Proxy.Collectors() }, false},
	{"DataCoord", func(m *registry.Metrics, r prometheus.Registerer) error { return m.DataCoord.Register(r) },
		func(m *registry.Metrics) []prometheus.Collector { return m.DataCoord.Collectors() }, false},
	{"DataNode", func(m *registry.Metrics, r prometheus.Registerer) error { return m.DataNode.Register(r) },
		func(m *registry.Metrics) []prometheus.Collector { return m.DataNode.Collectors() }, false},
	{"QueryCoord", func(m *registry.Metrics, r prometheus.Registerer) error { return m.QueryCoord.Register(r) }, nil, true},
	{"QueryNode", func(m *registry.Metrics, r prometheus.Registerer) error { return m.QueryNode.Register(r) }, nil, true},
	{"IndexCoord", func(m *registry.Metrics, r prometheus.Registerer) error { return m.IndexCoord.Register(r) }, nil, true},
	{"IndexNode", func(m *registry.Metrics, r prometheus.Registerer) error { return m.IndexNode.Register(r) }, nil, true},
	{"", func(m *registry.Metrics, r prometheus.Registerer) error { return m.Register(r) },
		func(m *registry.Metrics) []prometheus.Collector { return m.Collectors() }, false},
}

func (c component) String() string {
	if c.name == "" {
		return "Metrics"
	}
	return c.name
}

// TestRegisterTwiceIsNoOp registers each component twice on one registry: the
// second call succeeds and keeps the same collectors (a series recorded in
// between survives), and exactly the component's seed names are exposed.
// The empty components register nothing.
func TestRegisterTwiceIsNoOp(t *testing.T) {
	for _, comp := range components {
		t.Run(comp.String(), func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m := registry.New()
			require.NoError(t, comp.register(m, reg), "first Register")
			if comp.empty {
				require.Empty(t, familyNames(gather(t, reg)), "families exposed by an empty component")
				// Nothing was registered: a full set still fits.
				require.NoError(t, m.Register(reg), "Metrics.Register after an empty component")
				require.NoError(t, comp.register(m, reg), "second Register")
				return
			}
			cs := comp.coll(m)
			emitOne(t, cs)
			before := flatten(gather(t, reg))
			require.NoError(t, comp.register(m, reg), "second Register")
			fams := gather(t, reg)
			assert.Equal(t, seedNames(comp.name), familyNames(fams), "families")
			assert.Equal(t, before, flatten(fams), "series changed by the second Register")
			// Still the same collectors: each is registered exactly once.
			for _, c := range cs {
				assert.True(t, reg.Unregister(c), "%T not registered", c)
			}
			assert.Empty(t, familyNames(gather(t, reg)), "families left after unregistering the component")
		})
	}
}

func TestRegisterNilRegisterer(t *testing.T) {
	for _, comp := range components {
		t.Run(comp.String(), func(t *testing.T) {
			// The empty components too: a nil registerer is a mistake
			// whatever the component holds.
			err := comp.register(registry.New(), nil)
			assert.ErrorContains(t, err, "nil prometheus.Registerer")
		})
	}
}

// TestRegisterConflictIsAllOrNone registers a different collector under one
// of a component's names first: Register must fail naming the metric and
// leave nothing of the component registered; once the conflicting collector
// is gone, Register succeeds.
func TestRegisterConflictIsAllOrNone(t *testing.T) {
	tests := []struct {
		name     string
		comp     component
		metric   string
		conflict func() prometheus.Collector
		// sameDesc is true when the conflicting collector has the very same
		// descriptor, so the error is a prometheus.AlreadyRegisteredError.
		sameDesc bool
	}{
		{
			name: "proxy counter with another help", comp: components[1], metric: "milvus_proxy_insert_total",
			conflict: func() prometheus.Collector {
				return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "milvus_proxy_insert_total", Help: "Inserts"}, []string{"status"})
			},
		},
		{
			name: "proxy counter with other labels", comp: components[1], metric: "milvus_proxy_insert_total",
			conflict: func() prometheus.Collector {
				return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "milvus_proxy_insert_total", Help: "Counter of insert"}, []string{"code"})
			},
		},
		{
			name: "proxy counter identical but another instance", comp: components[1], metric: "milvus_proxy_insert_total",
			conflict: func() prometheus.Collector {
				return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "milvus_proxy_insert_total", Help: "Counter of insert"}, []string{"status"})
			},
			sameDesc: true,
		},
		{
			name: "last proxy collector, a gauge", comp: components[1], metric: "milvus_proxy_dml_channels_time_tick",
			conflict: func() prometheus.Collector {
				return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "milvus_proxy_dml_channels_time_tick", Help: "x"}, []string{"pchan"})
			},
		},
		{
			name: "first rootcoord collector", comp: components[0], metric: "milvus_rootcoord_list_of_proxy",
			conflict: func() prometheus.Collector {
				return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "milvus_rootcoord_list_of_proxy", Help: "x"}, []string{"node"})
			},
		},
		{
			name: "rootcoord plain gauge", comp: components[0], metric: "milvus_rootcoord_dd_channel_time_tick",
			conflict: func() prometheus.Collector {
				return prometheus.NewGauge(prometheus.GaugeOpts{Name: "milvus_rootcoord_dd_channel_time_tick", Help: "x"})
			},
		},
		{
			name: "rootcoord plain gauge identical but another instance", comp: components[0], metric: "milvus_rootcoord_dd_channel_time_tick",
			conflict: func() prometheus.Collector {
				return prometheus.NewGauge(prometheus.GaugeOpts{Name: "milvus_rootcoord_dd_channel_time_tick", Help: "Time tick of dd Channel in 24H"})
			},
			sameDesc: true,
		},
		{
			name: "datacoord identical but another instance", comp: components[2], metric: "milvus_dataCoord_list_of_data_node",
			conflict: func() prometheus.Collector {
				return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "milvus_dataCoord_list_of_data_node", Help: "List of data nodes registered within etcd"}, []string{"status"})
			},
			sameDesc: true,
		},
		{
			name: "datacoord camelCase name", comp: components[2], metric: "milvus_dataCoord_list_of_data_node",
			conflict: func() prometheus.Collector {
				return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "milvus_dataCoord_list_of_data_node", Help: "x"}, []string{"status"})
			},
		},
		{
			name: "datanode second counter", comp: components[3], metric: "milvus_dataNode_watch_dm_channels_total",
			conflict: func() prometheus.Collector {
				return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "milvus_dataNode_watch_dm_channels_total", Help: "x"}, []string{"type"})
			},
		},
		{
			name: "Metrics, the very last collector", comp: components[8], metric: "milvus_dataNode_watch_dm_channels_total",
			conflict: func() prometheus.Collector {
				return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "milvus_dataNode_watch_dm_channels_total", Help: "Counter of watch dm channel"}, []string{"type"})
			},
			sameDesc: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			conflict := tc.conflict()
			require.NoError(t, reg.Register(conflict), "registering the conflicting collector")
			emitOne(t, []prometheus.Collector{conflict})
			m := registry.New()
			// Give every collector a series, so that any that stayed
			// registered would show in Gather.
			emitOne(t, tc.comp.coll(m))

			err := tc.comp.register(m, reg)
			require.Error(t, err, "Register succeeded despite the conflict")
			assert.ErrorContains(t, err, tc.metric)
			var are prometheus.AlreadyRegisteredError
			gotARE := errors.As(err, &are)
			assert.Equal(t, tc.sameDesc, gotARE, "errors.As(AlreadyRegisteredError) (err %v)", err)
			if gotARE {
				assert.Same(t, conflict, are.ExistingCollector, "AlreadyRegisteredError.ExistingCollector is not the conflicting collector")
			}
			assert.Equal(t, []string{tc.metric}, familyNames(gather(t, reg)),
				"after the failed Register, only the conflicting family")

			require.True(t, reg.Unregister(conflict), "could not unregister the conflicting collector")
			for _, c := range tc.comp.coll(m) {
				assert.False(t, reg.Unregister(c), "a %T of the component stayed registered", c)
			}

			err = tc.comp.register(m, reg)
			if !tc.sameDesc {
				// client_golang's Registry keeps a name's help and label
				// names for its whole lifetime, even after Unregister, so
				// the seed's collector still cannot take this name here.
				assert.ErrorContains(t, err, tc.metric, "Register after removing a differently shaped conflict")
				return
			}
			require.NoError(t, err, "Register after removing the conflict")
			assert.Equal(t, seedNames(tc.comp.name), familyNames(gather(t, reg)), "families")
		})
	}
}

// TestFailedRegisterKeepsEarlierRegistrations checks that the rollback of a
// failed call removes only what that call added: components registered by an
// earlier call stay.
func TestFailedRegisterKeepsEarlierRegistrations(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := registry.New()
	require.NoError(t, m.RootCoord.Register(reg))
	conflict := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "milvus_dataNode_flush_segments_total", Help: "x"}, []string{"type"})
	require.NoError(t, reg.Register(conflict))
	emitOne(t, append(m.Collectors(), conflict))

	require.ErrorContains(t, m.Register(reg), "milvus_dataNode_flush_segments_total")
	want := append(seedNames("RootCoord"), "milvus_dataNode_flush_segments_total")
	sort.Strings(want)
	assert.Equal(t, want, familyNames(gather(t, reg)), "families")
}

// TestRegisterConcurrently registers the same component from many goroutines
// on one registry: every call succeeds and each collector is registered once.
func TestRegisterConcurrently(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := registry.New()
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() { errs <- m.Register(reg) }()
	}
	for range cap(errs) {
		assert.NoError(t, <-errs, "Register")
	}
	for _, c := range m.Collectors() {
		assert.True(t, reg.Unregister(c), "%T not registered", c)
	}
}
