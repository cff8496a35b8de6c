package registry

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Client label values. A RootCoord call is labelled with [ClientLabel] of the
// request's MsgBase.SourceID; these two fixed values stand in where there is
// no SourceID to use.
const (
	// UnknownClientLabel labels calls whose request has no MsgBase.
	UnknownClientLabel = "client_unknown"
	// OverflowClientLabel labels calls from clients beyond the interceptor's
	// client limit, so that hostile or runaway SourceIDs cannot create
	// unbounded series.
	OverflowClientLabel = "client_overflow"
)

// ClientLabel returns the client_id label value for a Milvus SourceID,
// "client_<id>", the format Milvus itself used.
func ClientLabel(sourceID int64) string {
	return "client_" + strconv.FormatInt(sourceID, 10)
}

// Data node states, the label values Milvus used for DataCoord.DataNodeList.
const (
	DataNodeOnline  = "online"
	DataNodeOffline = "offline"
)

// SetInsertChannelTimeTick records the latest time tick of a virtual insert
// channel. ts is a Milvus hybrid timestamp (physical ms << [LogicalBits] |
// logical); the gauge stores [Mod24H](ts), as Milvus did, so that the value is
// exact in a float64. Use [ParseTS] on a full timestamp to read it back.
// It returns an error, and records nothing, if vchannel is not valid UTF-8.
func (c *RootCoord) SetInsertChannelTimeTick(vchannel string, ts uint64) error {
	return setVec(c.InsertChannelTimeTick, vchannel, float64(Mod24H(ts)))
}

// DeleteInsertChannelTimeTick removes the series of a virtual channel that no
// longer exists and reports whether there was one.
func (c *RootCoord) DeleteInsertChannelTimeTick(vchannel string) bool {
	return c.InsertChannelTimeTick.DeleteLabelValues(vchannel)
}

// SetDDChannelTimeTick records the latest time tick of the DD channel; ts is a
// hybrid timestamp, stored as [Mod24H](ts) like
// [RootCoord.SetInsertChannelTimeTick].
func (c *RootCoord) SetDDChannelTimeTick(ts uint64) {
	c.DDChannelTimeTick.Set(float64(Mod24H(ts)))
}

// ProxyUp adds one to the number of sessions registered under clientID (a
// [ClientLabel] value), as Milvus did when a proxy registered with etcd.
func (c *RootCoord) ProxyUp(clientID string) error {
	return addVec(c.ProxyLister, clientID, 1)
}

// ProxyDown subtracts one from the number of sessions registered under
// clientID, as Milvus did when a proxy's session ended.
func (c *RootCoord) ProxyDown(clientID string) error {
	return addVec(c.ProxyLister, clientID, -1)
}

// RemoveProxy deletes clientID's series from the proxy list and reports
// whether there was one. Call it with the interceptor's RemoveClient when a
// proxy leaves for good, so that none of its series outlive it.
func (c *RootCoord) RemoveProxy(clientID string) bool {
	return c.ProxyLister.DeleteLabelValues(clientID)
}

// SetDmlChannelTimeTick records the latest time tick of a physical DML
// channel; ts is a hybrid timestamp, stored as [Mod24H](ts).
func (c *Proxy) SetDmlChannelTimeTick(pchan string, ts uint64) error {
	return setVec(c.DmlChannelTimeTick, pchan, float64(Mod24H(ts)))
}

// DeleteDmlChannelTimeTick removes the series of a physical channel that no
// longer exists and reports whether there was one.
func (c *Proxy) DeleteDmlChannelTimeTick(pchan string) bool {
	return c.DmlChannelTimeTick.DeleteLabelValues(pchan)
}

// SetDataNodes sets the number of data nodes in a state, such as
// [DataNodeOnline] or [DataNodeOffline].
func (c *DataCoord) SetDataNodes(status string, n int) error {
	return setVec(c.DataNodeList, status, float64(n))
}

// AddDataNodes adds delta (which may be negative) to the number of data nodes
// in a state, as Milvus's Inc and Dec calls did.
func (c *DataCoord) AddDataNodes(status string, delta int) error {
	return addVec(c.DataNodeList, status, float64(delta))
}

func setVec(v *prometheus.GaugeVec, label string, value float64) error {
	g, err := v.GetMetricWithLabelValues(label)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	g.Set(value)
	return nil
}

func addVec(v *prometheus.GaugeVec, label string, delta float64) error {
	g, err := v.GetMetricWithLabelValues(label)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	g.Add(delta)
	return nil
}
