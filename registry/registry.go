package registry

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace and subsystems of Milvus v2.0's metric names. The camelCase
// subsystems are Milvus v2.0's and are kept for compatibility.
const (
	Namespace          = "milvus"
	SubsystemRootCoord = "rootcoord"
	SubsystemDataCoord = "dataCoord"
	SubsystemDataNode  = "dataNode"
	SubsystemProxy     = "proxy"
)

// Label names used by Milvus v2.0's collectors.
const (
	LabelClientID = "client_id" // RootCoord counters and ProxyLister
	LabelType     = "type"      // RootCoord and DataNode counters: a call label value
	LabelStatus   = "status"    // Proxy counters (a call label value) and DataNodeList
	LabelVChannel = "vchannel"  // RootCoord.InsertChannelTimeTick
	LabelPChannel = "pchan"     // Proxy.DmlChannelTimeTick
)

// Call label values: a counted call increments TotalLabel when it starts and
// exactly one of SuccessLabel or FailLabel when it ends, so that
// total == success + fail once no call is in flight.
const (
	TotalLabel   = "total"
	SuccessLabel = "success"
	FailLabel    = "fail"
)

// Metrics holds the collectors of every component. Build it with [New].
type Metrics struct {
	RootCoord  *RootCoord
	Proxy      *Proxy
	QueryCoord *QueryCoord
	QueryNode  *QueryNode
	DataCoord  *DataCoord
	DataNode   *DataNode
	IndexCoord *IndexCoord
	IndexNode  *IndexNode
}

// New creates the collectors of every component. Nothing is registered.
func New() *Metrics {
	return &Metrics{
		RootCoord:  NewRootCoord(),
		Proxy:      NewProxy(),
		QueryCoord: &QueryCoord{},
		QueryNode:  &QueryNode{},
		DataCoord:  NewDataCoord(),
		DataNode:   NewDataNode(),
		IndexCoord: &IndexCoord{},
		IndexNode:  &IndexNode{},
	}
}

// Collectors returns the collectors of every component, in Milvus v2.0's order.
func (m *Metrics) Collectors() []prometheus.Collector {
	var cs []prometheus.Collector
	cs = append(cs, m.RootCoord.Collectors()...)
	cs = append(cs, m.Proxy.Collectors()...)
	cs = append(cs, m.DataCoord.Collectors()...)
	cs = append(cs, m.DataNode.Collectors()...)
	return cs
}

// Register registers every component on r, all or none, with the rules of
// [RootCoord.Register].
// A Metrics that is nil or lacks a component (a zero value, say) is an
// error, and nothing is registered. Once it succeeds, every component
// reports [RootCoord.Registered] (and so on); register with it, or with
// each component's Register, before building a method table over m with
// [github.com/grpcmetrics/grpcmetrics/methodmap.Default].
func (m *Metrics) Register(r prometheus.Registerer) error {
	if m == nil {
		return errors.New("registry: nil *Metrics (build it with registry.New)")
	}
	for _, c := range []struct {
		name    string
		missing bool
	}{
		{"RootCoord", m.RootCoord == nil}, {"Proxy", m.Proxy == nil},
		{"DataCoord", m.DataCoord == nil}, {"DataNode", m.DataNode == nil},
	} {
		if c.missing {
			return fmt.Errorf("registry: Metrics.%s is nil (build Metrics with registry.New)", c.name)
		}
	}
	if err := register(r, m.Collectors()); err != nil {
		return err
	}
	m.RootCoord.registered.Store(true)
	m.Proxy.registered.Store(true)
	m.DataCoord.registered.Store(true)
	m.DataNode.registered.Store(true)
	return nil
}

// QueryCoord stands for the QueryCoord component, which Milvus v2.0 registered
// with no metrics.
type QueryCoord struct{}

// Register registers nothing; it exists for symmetry with Milvus v2.0's
// RegisterQueryCoord. Like every Register, it returns an error for a nil r.
func (*QueryCoord) Register(r prometheus.Registerer) error { return register(r, nil) }

// QueryNode stands for the QueryNode component, which Milvus v2.0 registered with
// no metrics.
type QueryNode struct{}

// Register registers nothing. Like every Register, it returns an error for a
// nil r.
func (*QueryNode) Register(r prometheus.Registerer) error { return register(r, nil) }

// IndexCoord stands for the IndexCoord component, which Milvus v2.0 registered
// with no metrics.
type IndexCoord struct{}

// Register registers nothing. Like every Register, it returns an error for a
// nil r.
func (*IndexCoord) Register(r prometheus.Registerer) error { return register(r, nil) }

// IndexNode stands for the IndexNode component, which Milvus v2.0 registered with
// no metrics.
type IndexNode struct{}

// Register registers nothing. Like every Register, it returns an error for a
// nil r.
func (*IndexNode) Register(r prometheus.Registerer) error { return register(r, nil) }

// register registers cs on r, all or none:
//   - a collector that r already holds (the same value) is left as it is, so
//     registering a component twice is a no-op;
//   - any other error, such as a different collector under the same name,
//     unregisters what this call registered and returns an error naming the
//     metric.
func register(r prometheus.Registerer, cs []prometheus.Collector) error {
	if isNil(r) {
		return errors.New("registry: nil prometheus.Registerer")
	}
	for _, c := range cs {
		if isNil(c) {
			return errors.New("registry: a collector is nil: build components with registry.New or their New function, not as zero values")
		}
	}
	var added []prometheus.Collector
	for _, c := range cs {
		err := r.Register(c)
		if err == nil {
			added = append(added, c)
			continue
		}
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) && are.ExistingCollector == c {
			continue
		}
		for _, a := range added {
			r.Unregister(a)
		}
		return conflictError(c, err)
	}
	return nil
}

// isNil reports whether v is nil or an interface holding a nil pointer, such
// as a (*prometheus.Registry)(nil) or a zero-value component's collector.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// metricName returns the fully-qualified name of the collector's first metric,
// for error messages.
func metricName(c prometheus.Collector) string {
	ch := make(chan *prometheus.Desc, 1)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	name := "<unknown metric>"
	first := true
	for d := range ch {
		if first {
			name = descName(d)
			first = false
		}
	}
	return name
}

// descName extracts the fully-qualified name from a descriptor. client_golang
// has no accessor for it; its String form has been stable since v0.9.
func descName(d *prometheus.Desc) string {
	s := d.String()
	_, rest, ok := strings.Cut(s, `fqName: "`)
	if !ok {
		return s
	}
	name, _, ok := strings.Cut(rest, `"`)
	if !ok {
		return s
	}
	return name
}

func newCounterVec(subsystem, name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: subsystem, Name: name, Help: help,
	}, labels)
}

func newGaugeVec(subsystem, name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: subsystem, Name: name, Help: help,
	}, labels)
}

func newGauge(subsystem, name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: subsystem, Name: name, Help: help,
	})
}
