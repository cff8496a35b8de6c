package registry

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Proxy holds the collectors that Milvus v2.0 registered for Proxy.
// Each field keeps the Milvus v2.0 variable name without its "Proxy" prefix, so
// Milvus v2.0's metrics.ProxyCreateCollectionCounter is Proxy.CreateCollectionCounter here. Build it with [NewProxy].
type Proxy struct {
	// CreateCollectionCounter is the counter milvus_proxy_create_collection_total, {status}.
	CreateCollectionCounter *prometheus.CounterVec
	// DropCollectionCounter is the counter milvus_proxy_drop_collection_total, {status}.
	DropCollectionCounter *prometheus.CounterVec
	// HasCollectionCounter is the counter milvus_proxy_has_collection_total, {status}.
	HasCollectionCounter *prometheus.CounterVec
	// LoadCollectionCounter is the counter milvus_proxy_load_collection_total, {status}.
	LoadCollectionCounter *prometheus.CounterVec
	// ReleaseCollectionCounter is the counter milvus_proxy_release_collection_total, {status}.
	ReleaseCollectionCounter *prometheus.CounterVec
	// DescribeCollectionCounter is the counter milvus_proxy_describe_collection_total, {status}.
	DescribeCollectionCounter *prometheus.CounterVec
	// GetCollectionStatisticsCounter is the counter milvus_proxy_get_collection_statistics_total, {status}.
	GetCollectionStatisticsCounter *prometheus.CounterVec
	// ShowCollectionsCounter is the counter milvus_proxy_show_collections_total, {status}.
	ShowCollectionsCounter *prometheus.CounterVec
	// CreatePartitionCounter is the counter milvus_proxy_create_partition_total, {status}.
	CreatePartitionCounter *prometheus.CounterVec
	// DropPartitionCounter is the counter milvus_proxy_drop_partition_total, {status}.
	DropPartitionCounter *prometheus.CounterVec
	// HasPartitionCounter is the counter milvus_proxy_has_partition_total, {status}.
	HasPartitionCounter *prometheus.CounterVec
	// LoadPartitionsCounter is the counter milvus_proxy_load_partitions_total, {status}.
	LoadPartitionsCounter *prometheus.CounterVec
	// ReleasePartitionsCounter is the counter milvus_proxy_release_partitions_total, {status}.
	ReleasePartitionsCounter *prometheus.CounterVec
	// GetPartitionStatisticsCounter is the counter milvus_proxy_get_partition_statistics_total, {status}.
	GetPartitionStatisticsCounter *prometheus.CounterVec
	// ShowPartitionsCounter is the counter milvus_proxy_show_partitions_total, {status}.
	ShowPartitionsCounter *prometheus.CounterVec
	// CreateIndexCounter is the counter milvus_proxy_create_index_counter, {status}.
	CreateIndexCounter *prometheus.CounterVec
	// DescribeIndexCounter is the counter milvus_proxy_describe_index_counter, {status}.
	DescribeIndexCounter *prometheus.CounterVec
	// GetIndexStateCounter is the counter milvus_proxy_get_index_state_counter, {status}.
	GetIndexStateCounter *prometheus.CounterVec
	// GetIndexBuildProgressCounter is the counter milvus_proxy_get_index_build_progress_total, {status}.
	GetIndexBuildProgressCounter *prometheus.CounterVec
	// DropIndexCounter is the counter milvus_proxy_drop_index_total, {status}.
	DropIndexCounter *prometheus.CounterVec
	// InsertCounter is the counter milvus_proxy_insert_total, {status}.
	InsertCounter *prometheus.CounterVec
	// SearchCounter is the counter milvus_proxy_search_total, {status}.
	SearchCounter *prometheus.CounterVec
	// RetrieveCounter is the counter milvus_proxy_retrieve_total, {status}.
	RetrieveCounter *prometheus.CounterVec
	// FlushCounter is the counter milvus_proxy_flush_total, {status}.
	FlushCounter *prometheus.CounterVec
	// QueryCounter is the counter milvus_proxy_query_total, {status}.
	QueryCounter *prometheus.CounterVec
	// GetPersistentSegmentInfoCounter is the counter milvus_proxy_get_persistent_segment_info_total, {status}.
	GetPersistentSegmentInfoCounter *prometheus.CounterVec
	// GetQuerySegmentInfoCounter is the counter milvus_proxy_get_query_segment_info_total, {status}.
	GetQuerySegmentInfoCounter *prometheus.CounterVec
	// DummyCounter is the counter milvus_proxy_dummy_total, {status}.
	DummyCounter *prometheus.CounterVec
	// RegisterLinkCounter is the counter milvus_proxy_register_link_total, {status}.
	RegisterLinkCounter *prometheus.CounterVec
	// GetComponentStatesCounter is the counter milvus_proxy_get_component_states_total, {status}.
	GetComponentStatesCounter *prometheus.CounterVec
	// GetStatisticsChannelCounter is the counter milvus_proxy_get_statistics_channel_total, {status}.
	GetStatisticsChannelCounter *prometheus.CounterVec
	// InvalidateCollectionMetaCacheCounter is the counter milvus_proxy_invalidate_collection_meta_cache_total, {status}.
	InvalidateCollectionMetaCacheCounter *prometheus.CounterVec
	// GetDdChannelCounter is the counter milvus_proxy_get_dd_channel_total, {status}.
	GetDdChannelCounter *prometheus.CounterVec
	// ReleaseDQLMessageStreamCounter is the counter milvus_proxy_release_dql_message_stream_total, {status}.
	ReleaseDQLMessageStreamCounter *prometheus.CounterVec
	// DmlChannelTimeTick is the gauge milvus_proxy_dml_channels_time_tick, {pchan}.
	DmlChannelTimeTick *prometheus.GaugeVec

	registered atomic.Bool // set by every Register that succeeds; see Registered
}

// NewProxy returns Proxy's collectors, created but not registered.
func NewProxy() *Proxy {
	return &Proxy{
		CreateCollectionCounter:              newCounterVec(SubsystemProxy, "create_collection_total", "Counter of create collection", LabelStatus),
		DropCollectionCounter:                newCounterVec(SubsystemProxy, "drop_collection_total", "Counter of drop collection", LabelStatus),
		HasCollectionCounter:                 newCounterVec(SubsystemProxy, "has_collection_total", "Counter of has collection", LabelStatus),
		LoadCollectionCounter:                newCounterVec(SubsystemProxy, "load_collection_total", "Counter of load collection", LabelStatus),
		ReleaseCollectionCounter:             newCounterVec(SubsystemProxy, "release_collection_total", "Counter of release collection", LabelStatus),
		DescribeCollectionCounter:            newCounterVec(SubsystemProxy, "describe_collection_total", "Counter of describe collection", LabelStatus),
		GetCollectionStatisticsCounter:       newCounterVec(SubsystemProxy, "get_collection_statistics_total", "Counter of get collection statistics", LabelStatus),
		ShowCollectionsCounter:               newCounterVec(SubsystemProxy, "show_collections_total", "Counter of show collections", LabelStatus),
		CreatePartitionCounter:               newCounterVec(SubsystemProxy, "create_partition_total", "Counter of create partition", LabelStatus),
		DropPartitionCounter:                 newCounterVec(SubsystemProxy, "drop_partition_total", "Counter of drop partition", LabelStatus),
		HasPartitionCounter:                  newCounterVec(SubsystemProxy, "has_partition_total", "Counter of has partition", LabelStatus),
		LoadPartitionsCounter:                newCounterVec(SubsystemProxy, "load_partitions_total", "Counter of load partitions", LabelStatus),
		ReleasePartitionsCounter:             newCounterVec(SubsystemProxy, "release_partitions_total", "Counter of release partitions", LabelStatus),
		GetPartitionStatisticsCounter:        newCounterVec(SubsystemProxy, "get_partition_statistics_total", "Counter of get partition statistics", LabelStatus),
		ShowPartitionsCounter:                newCounterVec(SubsystemProxy, "show_partitions_total", "Counter of show partitions", LabelStatus),
		CreateIndexCounter:                   newCounterVec(SubsystemProxy, "create_index_counter", "Counter of create index", LabelStatus),
		DescribeIndexCounter:                 newCounterVec(SubsystemProxy, "describe_index_counter", "Counter of describe index", LabelStatus),
		GetIndexStateCounter:                 newCounterVec(SubsystemProxy, "get_index_state_counter", "Counter of get index state", LabelStatus),
		GetIndexBuildProgressCounter:         newCounterVec(SubsystemProxy, "get_index_build_progress_total", "Counter of get index build progress", LabelStatus),
		DropIndexCounter:                     newCounterVec(SubsystemProxy, "drop_index_total", "Counter of drop index", LabelStatus),
		InsertCounter:                        newCounterVec(SubsystemProxy, "insert_total", "Counter of insert", LabelStatus),
		SearchCounter:                        newCounterVec(SubsystemProxy, "search_total", "Counter of search", LabelStatus),
		RetrieveCounter:                      newCounterVec(SubsystemProxy, "retrieve_total", "Counter of retrieve", LabelStatus),
		FlushCounter:                         newCounterVec(SubsystemProxy, "flush_total", "Counter of flush", LabelStatus),
		QueryCounter:                         newCounterVec(SubsystemProxy, "query_total", "Counter of query", LabelStatus),
		GetPersistentSegmentInfoCounter:      newCounterVec(SubsystemProxy, "get_persistent_segment_info_total", "Counter of get persistent segment info", LabelStatus),
		GetQuerySegmentInfoCounter:           newCounterVec(SubsystemProxy, "get_query_segment_info_total", "Counter of get query segment info", LabelStatus),
		DummyCounter:                         newCounterVec(SubsystemProxy, "dummy_total", "Counter of dummy", LabelStatus),
		RegisterLinkCounter:                  newCounterVec(SubsystemProxy, "register_link_total", "Counter of register link", LabelStatus),
		GetComponentStatesCounter:            newCounterVec(SubsystemProxy, "get_component_states_total", "Counter of get component states", LabelStatus),
		GetStatisticsChannelCounter:          newCounterVec(SubsystemProxy, "get_statistics_channel_total", "Counter of get statistics channel", LabelStatus),
		InvalidateCollectionMetaCacheCounter: newCounterVec(SubsystemProxy, "invalidate_collection_meta_cache_total", "Counter of invalidate collection meta cache", LabelStatus),
		GetDdChannelCounter:                  newCounterVec(SubsystemProxy, "get_dd_channel_total", "Counter of get dd channel", LabelStatus),
		ReleaseDQLMessageStreamCounter:       newCounterVec(SubsystemProxy, "release_dql_message_stream_total", "Counter of release dql message stream", LabelStatus),
		DmlChannelTimeTick:                   newGaugeVec(SubsystemProxy, "dml_channels_time_tick", "Time tick of dml channels", LabelPChannel),
	}
}

// Collectors returns every collector of the component, in Milvus v2.0's order.
func (c *Proxy) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		c.CreateCollectionCounter,
		c.DropCollectionCounter,
		c.HasCollectionCounter,
		c.LoadCollectionCounter,
		c.ReleaseCollectionCounter,
		c.DescribeCollectionCounter,
		c.GetCollectionStatisticsCounter,
		c.ShowCollectionsCounter,
		c.CreatePartitionCounter,
		c.DropPartitionCounter,
		c.HasPartitionCounter,
		c.LoadPartitionsCounter,
		c.ReleasePartitionsCounter,
		c.GetPartitionStatisticsCounter,
		c.ShowPartitionsCounter,
		c.CreateIndexCounter,
		c.DescribeIndexCounter,
		c.GetIndexStateCounter,
		c.GetIndexBuildProgressCounter,
		c.DropIndexCounter,
		c.InsertCounter,
		c.SearchCounter,
		c.RetrieveCounter,
		c.FlushCounter,
		c.QueryCounter,
		c.GetPersistentSegmentInfoCounter,
		c.GetQuerySegmentInfoCounter,
		c.DummyCounter,
		c.RegisterLinkCounter,
		c.GetComponentStatesCounter,
		c.GetStatisticsChannelCounter,
		c.InvalidateCollectionMetaCacheCounter,
		c.GetDdChannelCounter,
		c.ReleaseDQLMessageStreamCounter,
		c.DmlChannelTimeTick,
	}
}

// Register registers the component's collectors on r, all or none. Registering
// a component twice on the same registerer is a no-op; a different collector
// already registered under one of the names is an error that names the metric.
func (c *Proxy) Register(r prometheus.Registerer) error {
	if c == nil {
		return errors.New("registry: nil *Proxy (build it with NewProxy)")
	}
	if err := register(r, c.Collectors()); err != nil {
		return err
	}
	c.registered.Store(true)
	return nil
}

// Registered reports whether the component's collectors have been
// registered: whether [Proxy.Register], [Metrics.Register] or the shim's
// [RegisterProxy] has succeeded on some registerer. Collectors registered by
// other means, as with reg.MustRegister(c.Collectors()...), are not seen:
// call Register on that registerer too, which leaves the collectors it
// already holds as they are. Unregistering them later does not reset it.
// [github.com/grpcmetrics/grpcmetrics/methodmap.New] reads it to refuse a
// map that would count where nothing scrapes. A nil component reports false.
func (c *Proxy) Registered() bool { return c != nil && c.registered.Load() }
