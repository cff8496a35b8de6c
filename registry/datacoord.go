package registry

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// DataCoord holds the collectors that Milvus v2.0 registered for DataCoord (the data coordinator).
// Each field keeps the Milvus v2.0 variable name without its "DataCoord" prefix, so
// Milvus v2.0's metrics.DataCoordDataNodeList is DataCoord.DataNodeList here. Build it with [NewDataCoord].
type DataCoord struct {
	// DataNodeList is the gauge milvus_dataCoord_list_of_data_node, {status}.
	DataNodeList *prometheus.GaugeVec

	registered atomic.Bool // set by every Register that succeeds; see Registered
}

// NewDataCoord returns DataCoord's collectors, created but not registered.
func NewDataCoord() *DataCoord {
	return &DataCoord{
		DataNodeList: newGaugeVec(SubsystemDataCoord, "list_of_data_node", "List of data nodes registered within etcd", LabelStatus),
	}
}

// Collectors returns every collector of the component, in Milvus v2.0's order.
func (c *DataCoord) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		c.DataNodeList,
	}
}

// Register registers the component's collectors on r, all or none. Registering
// a component twice on the same registerer is a no-op; a different collector
// already registered under one of the names is an error that names the metric.
func (c *DataCoord) Register(r prometheus.Registerer) error {
	if c == nil {
		return errors.New("registry: nil *DataCoord (build it with NewDataCoord)")
	}
	if err := register(r, c.Collectors()); err != nil {
		return err
	}
	c.registered.Store(true)
	return nil
}

// Registered reports whether the component's collectors have been
// registered: whether [DataCoord.Register], [Metrics.Register] or the shim's
// [RegisterDataCoord] has succeeded on some registerer. Collectors registered by
// other means, as with reg.MustRegister(c.Collectors()...), are not seen:
// call Register on that registerer too, which leaves the collectors it
// already holds as they are. Unregistering them later does not reset it.
// [github.com/grpcmetrics/grpcmetrics/methodmap.New] reads it to refuse a
// map that would count where nothing scrapes. A nil component reports false.
func (c *DataCoord) Registered() bool { return c != nil && c.registered.Load() }
