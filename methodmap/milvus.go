package methodmap

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// Default service names of the Milvus table, as real Milvus registers them.
const (
	DefaultMilvusService = "milvus.proto.milvus.MilvusService"
	DefaultProxy         = "milvus.proto.proxy.Proxy"
	DefaultRootCoord     = "milvus.proto.rootcoord.RootCoord"
	DefaultDataNode      = "milvus.proto.data.DataNode"
)

// Services names the gRPC services of the Milvus table. The zero value means
// the Default* names; set a field to serve a deployment that uses another
// package name, for example Proxy: "milvus.proto.Proxy".
type Services struct {
	MilvusService string // counted on the proxy counters
	Proxy         string // counted on the proxy counters
	RootCoord     string // counted on the rootcoord counters
	DataNode      string // counted on the datanode counters
}

func (s Services) withDefaults() Services {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	return Services{
		MilvusService: def(s.MilvusService, DefaultMilvusService),
		Proxy:         def(s.Proxy, DefaultProxy),
		RootCoord:     def(s.RootCoord, DefaultRootCoord),
		DataNode:      def(s.DataNode, DefaultDataNode),
	}
}

// MilvusRoutes returns the Milvus table: 49 routes from the methods of the
// services named by s to m's counters. It returns an error if a service name
// in s is malformed or m lacks a component the table needs.
//
// Each route remembers its registry component (Proxy, RootCoord or
// DataNode), and [New] refuses routes whose component was never
// registered, naming it: register m (or the components whose routes you
// keep) before building the map. A process that serves one component may
// register only that one and keep only its routes.
func MilvusRoutes(m *registry.Metrics, s Services) ([]Route, error) {
	if m == nil || m.Proxy == nil || m.RootCoord == nil || m.DataNode == nil {
		return nil, fmt.Errorf("methodmap: MilvusRoutes needs registry.Metrics with Proxy, RootCoord and DataNode (use registry.New)")
	}
	s = s.withDefaults()
	for _, name := range []string{s.MilvusService, s.Proxy, s.RootCoord, s.DataNode} {
		if err := CheckService(name); err != nil {
			return nil, fmt.Errorf("methodmap: Services: %w", err)
		}
	}
	p, rc, dn := m.Proxy, m.RootCoord, m.DataNode
	proxy := &component{name: "Proxy", registered: p.Registered}
	rootCoord := &component{name: "RootCoord", registered: rc.Registered}
	dataNode := &component{name: "DataNode", registered: dn.Registered}
	var routes []Route
	add := func(service string, scheme Scheme, from *component, methods []methodCounter) {
		for _, mc := range methods {
			routes = append(routes, Route{Method: "/" + service + "/" + mc.method, Counter: mc.counter, Scheme: scheme, from: from})
		}
	}
	add(s.MilvusService, StatusScheme, proxy, []methodCounter{
		{"CreateCollection", p.CreateCollectionCounter},
		{"DropCollection", p.DropCollectionCounter},
		{"HasCollection", p.HasCollectionCounter},
		{"LoadCollection", p.LoadCollectionCounter},
		{"ReleaseCollection", p.ReleaseCollectionCounter},
		{"DescribeCollection", p.DescribeCollectionCounter},
		{"GetCollectionStatistics", p.GetCollectionStatisticsCounter},
		{"ShowCollections", p.ShowCollectionsCounter},
		{"CreatePartition", p.CreatePartitionCounter},
		{"DropPartition", p.DropPartitionCounter},
		{"HasPartition", p.HasPartitionCounter},
		{"LoadPartitions", p.LoadPartitionsCounter},
		{"ReleasePartitions", p.ReleasePartitionsCounter},
		{"GetPartitionStatistics", p.GetPartitionStatisticsCounter},
		{"ShowPartitions", p.ShowPartitionsCounter},
		{"CreateIndex", p.CreateIndexCounter},
		{"DescribeIndex", p.DescribeIndexCounter},
		{"GetIndexState", p.GetIndexStateCounter},
		{"GetIndexBuildProgress", p.GetIndexBuildProgressCounter},
		{"DropIndex", p.DropIndexCounter},
		{"Insert", p.InsertCounter},
		{"Search", p.SearchCounter},
		{"Flush", p.FlushCounter},
		{"Query", p.QueryCounter},
		{"GetPersistentSegmentInfo", p.GetPersistentSegmentInfoCounter},
		{"GetQuerySegmentInfo", p.GetQuerySegmentInfoCounter},
		{"Dummy", p.DummyCounter},
		{"RegisterLink", p.RegisterLinkCounter},
	})
	add(s.Proxy, StatusScheme, proxy, []methodCounter{
		{"GetComponentStates", p.GetComponentStatesCounter},
		{"GetStatisticsChannel", p.GetStatisticsChannelCounter},
		{"InvalidateCollectionMetaCache", p.InvalidateCollectionMetaCacheCounter},
		{"GetDdChannel", p.GetDdChannelCounter},
		{"ReleaseDQLMessageStream", p.ReleaseDQLMessageStreamCounter},
	})
	add(s.RootCoord, ClientTypeScheme, rootCoord, []methodCounter{
		{"CreateCollection", rc.CreateCollectionCounter},
		{"DropCollection", rc.DropCollectionCounter},
		{"HasCollection", rc.HasCollectionCounter},
		{"DescribeCollection", rc.DescribeCollectionCounter},
		{"ShowCollections", rc.ShowCollectionsCounter},
		{"CreatePartition", rc.CreatePartitionCounter},
		{"DropPartition", rc.DropPartitionCounter},
		{"HasPartition", rc.HasPartitionCounter},
		{"ShowPartitions", rc.ShowPartitionsCounter},
		{"CreateIndex", rc.CreateIndexCounter},
		{"DropIndex", rc.DropIndexCounter},
		{"DescribeIndex", rc.DescribeIndexCounter},
		{"DescribeSegment", rc.DescribeSegmentCounter},
		{"ShowSegments", rc.ShowSegmentsCounter},
	})
	add(s.DataNode, TypeScheme, dataNode, []methodCounter{
		{"FlushSegments", dn.FlushSegmentsCounter},
		{"WatchDmChannels", dn.WatchDmChannelsCounter},
	})
	return routes, nil
}

type methodCounter struct {
	method  string
	counter *prometheus.CounterVec
}

// Default builds the Milvus table with the default service names on m's
// counters; it is New(MilvusRoutes(m, Services{})...). Register m first,
// with [registry.Metrics.Register]: over counters that were never
// registered it returns an error (see [New]).
func Default(m *registry.Metrics) (*Map, error) {
	routes, err := MilvusRoutes(m, Services{})
	if err != nil {
		return nil, err
	}
	return New(routes...)
}
