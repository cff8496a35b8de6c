package registry

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// RootCoord holds the collectors that Milvus v2.0 registered for RootCoord (the root coordinator).
// Each field keeps the Milvus v2.0 variable name without its "RootCoord" prefix, so
// Milvus v2.0's metrics.RootCoordProxyLister is RootCoord.ProxyLister here. Build it with [NewRootCoord].
type RootCoord struct {
	// ProxyLister is the gauge milvus_rootcoord_list_of_proxy, {client_id}.
	ProxyLister *prometheus.GaugeVec
	// CreateCollectionCounter is the counter milvus_rootcoord_create_collection_total, {client_id, type}.
	CreateCollectionCounter *prometheus.CounterVec
	// DropCollectionCounter is the counter milvus_rootcoord_drop_collection_total, {client_id, type}.
	DropCollectionCounter *prometheus.CounterVec
	// HasCollectionCounter is the counter milvus_rootcoord_has_collection_total, {client_id, type}.
	HasCollectionCounter *prometheus.CounterVec
	// DescribeCollectionCounter is the counter milvus_rootcoord_describe_collection_total, {client_id, type}.
	DescribeCollectionCounter *prometheus.CounterVec
	// ShowCollectionsCounter is the counter milvus_rootcoord_show_collections_total, {client_id, type}.
	ShowCollectionsCounter *prometheus.CounterVec
	// CreatePartitionCounter is the counter milvus_rootcoord_create_partition_total, {client_id, type}.
	CreatePartitionCounter *prometheus.CounterVec
	// DropPartitionCounter is the counter milvus_rootcoord_drop_partition_total, {client_id, type}.
	DropPartitionCounter *prometheus.CounterVec
	// HasPartitionCounter is the counter milvus_rootcoord_has_partition_total, {client_id, type}.
	HasPartitionCounter *prometheus.CounterVec
	// ShowPartitionsCounter is the counter milvus_rootcoord_show_partitions_total, {client_id, type}.
	ShowPartitionsCounter *prometheus.CounterVec
	// CreateIndexCounter is the counter milvus_rootcoord_create_index_total, {client_id, type}.
	CreateIndexCounter *prometheus.CounterVec
	// DropIndexCounter is the counter milvus_rootcoord_drop_index_total, {client_id, type}.
	DropIndexCounter *prometheus.CounterVec
	// DescribeIndexCounter is the counter milvus_rootcoord_describe_index_total, {client_id, type}.
	DescribeIndexCounter *prometheus.CounterVec
	// DescribeSegmentCounter is the counter milvus_rootcoord_describe_segment_total, {client_id, type}.
	DescribeSegmentCounter *prometheus.CounterVec
	// ShowSegmentsCounter is the counter milvus_rootcoord_show_segments_total, {client_id, type}.
	ShowSegmentsCounter *prometheus.CounterVec
	// InsertChannelTimeTick is the gauge milvus_rootcoord_insert_channel_time_tick, {vchannel}.
	InsertChannelTimeTick *prometheus.GaugeVec
	// DDChannelTimeTick is the gauge milvus_rootcoord_dd_channel_time_tick, no labels.
	DDChannelTimeTick prometheus.Gauge

	registered atomic.Bool // set by every Register that succeeds; see Registered
}

// NewRootCoord returns RootCoord's collectors, created but not registered.
func NewRootCoord() *RootCoord {
	return &RootCoord{
		ProxyLister:               newGaugeVec(SubsystemRootCoord, "list_of_proxy", "List of proxy nodes which have registered with etcd", LabelClientID),
		CreateCollectionCounter:   newCounterVec(SubsystemRootCoord, "create_collection_total", "Counter of create collection", LabelClientID, LabelType),
		DropCollectionCounter:     newCounterVec(SubsystemRootCoord, "drop_collection_total", "Counter of drop collection", LabelClientID, LabelType),
		HasCollectionCounter:      newCounterVec(SubsystemRootCoord, "has_collection_total", "Counter of has collection", LabelClientID, LabelType),
		DescribeCollectionCounter: newCounterVec(SubsystemRootCoord, "describe_collection_total", "Counter of describe collection", LabelClientID, LabelType),
		ShowCollectionsCounter:    newCounterVec(SubsystemRootCoord, "show_collections_total", "Counter of show collections", LabelClientID, LabelType),
		CreatePartitionCounter:    newCounterVec(SubsystemRootCoord, "create_partition_total", "Counter of create partition", LabelClientID, LabelType),
		DropPartitionCounter:      newCounterVec(SubsystemRootCoord, "drop_partition_total", "Counter of drop partition", LabelClientID, LabelType),
		HasPartitionCounter:       newCounterVec(SubsystemRootCoord, "has_partition_total", "Counter of has partition", LabelClientID, LabelType),
		ShowPartitionsCounter:     newCounterVec(SubsystemRootCoord, "show_partitions_total", "Counter of show partitions", LabelClientID, LabelType),
		CreateIndexCounter:        newCounterVec(SubsystemRootCoord, "create_index_total", "Counter of create index", LabelClientID, LabelType),
		DropIndexCounter:          newCounterVec(SubsystemRootCoord, "drop_index_total", "Counter of drop index", LabelClientID, LabelType),
		DescribeIndexCounter:      newCounterVec(SubsystemRootCoord, "describe_index_total", "Counter of describe index", LabelClientID, LabelType),
		DescribeSegmentCounter:    newCounterVec(SubsystemRootCoord, "describe_segment_total", "Counter of describe segment", LabelClientID, LabelType),
		ShowSegmentsCounter:       newCounterVec(SubsystemRootCoord, "show_segments_total", "Counter of show segments", LabelClientID, LabelType),
		InsertChannelTimeTick:     newGaugeVec(SubsystemRootCoord, "insert_channel_time_tick", "Time tick of insert Channel in 24H", LabelVChannel),
		DDChannelTimeTick:         newGauge(SubsystemRootCoord, "dd_channel_time_tick", "Time tick of dd Channel in 24H"),
	}
}

// Collectors returns every collector of the component, in Milvus v2.0's order.
func (c *RootCoord) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		c.ProxyLister,
		c.CreateCollectionCounter,
		c.DropCollectionCounter,
		c.HasCollectionCounter,
		c.DescribeCollectionCounter,
		c.ShowCollectionsCounter,
		c.CreatePartitionCounter,
		c.DropPartitionCounter,
		c.HasPartitionCounter,
		c.ShowPartitionsCounter,
		c.CreateIndexCounter,
		c.DropIndexCounter,
		c.DescribeIndexCounter,
		c.DescribeSegmentCounter,
		c.ShowSegmentsCounter,
		c.InsertChannelTimeTick,
		c.DDChannelTimeTick,
	}
}

// Register registers the component's collectors on r, all or none. Registering
// a component twice on the same registerer is a no-op; a different collector
// already registered under one of the names is an error that names the metric.
func (c *RootCoord) Register(r prometheus.Registerer) error {
	if c == nil {
		return errors.New("registry: nil *RootCoord (build it with NewRootCoord)")
	}
	if err := register(r, c.Collectors()); err != nil {
		return err
	}
	c.registered.Store(true)
	return nil
}

// Registered reports whether the component's collectors have been
// registered: whether [RootCoord.Register], [Metrics.Register] or the shim's
// [RegisterRootCoord] has succeeded on some registerer. Collectors registered by
// other means, as with reg.MustRegister(c.Collectors()...), are not seen:
// call Register on that registerer too, which leaves the collectors it
// already holds as they are. Unregistering them later does not reset it.
// [github.com/grpcmetrics/grpcmetrics/methodmap.New] reads it to refuse a
// map that would count where nothing scrapes. A nil component reports false.
func (c *RootCoord) Registered() bool { return c != nil && c.registered.Load() }
