package registry

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// DataNode holds the collectors that Milvus v2.0 registered for DataNode.
// Each field keeps the Milvus v2.0 variable name without its "DataNode" prefix, so
// Milvus v2.0's metrics.DataNodeFlushSegmentsCounter is DataNode.FlushSegmentsCounter here. Build it with [NewDataNode].
type DataNode struct {
	// FlushSegmentsCounter is the counter milvus_dataNode_flush_segments_total, {type}.
	FlushSegmentsCounter *prometheus.CounterVec
	// WatchDmChannelsCounter is the counter milvus_dataNode_watch_dm_channels_total, {type}.
	WatchDmChannelsCounter *prometheus.CounterVec

	registered atomic.Bool // set by every Register that succeeds; see Registered
}

// NewDataNode returns DataNode's collectors, created but not registered.
func NewDataNode() *DataNode {
	return &DataNode{
		FlushSegmentsCounter:   newCounterVec(SubsystemDataNode, "flush_segments_total", "Counter of flush segments", LabelType),
		WatchDmChannelsCounter: newCounterVec(SubsystemDataNode, "watch_dm_channels_total", "Counter of watch dm channel", LabelType),
	}
}

// Collectors returns every collector of the component, in Milvus v2.0's order.
func (c *DataNode) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		c.FlushSegmentsCounter,
		c.WatchDmChannelsCounter,
	}
}

// Register registers the component's collectors on r, all or none. Registering
// a component twice on the same registerer is a no-op; a different collector
// already registered under one of the names is an error that names the metric.
func (c *DataNode) Register(r prometheus.Registerer) error {
	if c == nil {
		return errors.New("registry: nil *DataNode (build it with NewDataNode)")
	}
	if err := register(r, c.Collectors()); err != nil {
		return err
	}
	c.registered.Store(true)
	return nil
}

// Registered reports whether the component's collectors have been
// registered: whether [DataNode.Register], [Metrics.Register] or the shim's
// [RegisterDataNode] has succeeded on some registerer. Collectors registered by
// other means, as with reg.MustRegister(c.Collectors()...), are not seen:
// call Register on that registerer too, which leaves the collectors it
// already holds as they are. Unregistering them later does not reset it.
// [github.com/grpcmetrics/grpcmetrics/methodmap.New] reads it to refuse a
// map that would count where nothing scrapes. A nil component reports false.
func (c *DataNode) Registered() bool { return c != nil && c.registered.Load() }
