package grpcmetrics_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpcmetrics/grpcmetrics/examples/datanode"
	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/milvustype"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/datapb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/internalpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/proxypb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// config is one way of building the interceptor.
type config struct {
	name    string
	opts    []interceptor.MilvusOption
	install []interceptor.InstallOption
}

var configs = []config{
	{name: "default"},
	{name: "helpers",
		opts:    []interceptor.MilvusOption{interceptor.WithClientID(interceptor.MilvusSourceID[*commonpb.MsgBase]())},
		install: []interceptor.InstallOption{interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]())}},
	{name: "func",
		opts:    []interceptor.MilvusOption{interceptor.WithClientID(milvustype.Client)},
		install: []interceptor.InstallOption{interceptor.WithStatus(milvustype.Status)}},
}

// stack is one server with the interceptor and its clients.
type stack struct {
	reg     *prometheus.Registry
	m       *registry.Metrics
	srv     *grpc.Server
	conn    *grpc.ClientConn
	proxy   *proxy.Server
	rc      *rootcoord.Server
	dn      *datanode.Server
	milvus  milvuspb.MilvusServiceClient
	proxyC  proxypb.ProxyClient
	rcC     rootcoordpb.RootCoordClient
	dnC     datapb.DataNodeClient
	collID  int64 // rootcoord collection "c1", after setup
	partID  int64 // its default partition
	methods *methodmap.Map
}

func newStack(t *testing.T, cfg config, extra func(*grpc.Server)) *stack {
	t.Helper()
	s := &stack{reg: prometheus.NewPedanticRegistry(), m: registry.New()}
	require.NoError(t, s.m.Register(s.reg))
	methods, err := methodmap.Default(s.m)
	require.NoError(t, err)
	s.methods = methods
	ic, err := interceptor.NewMilvusCounters(methods, cfg.opts...)
	require.NoError(t, err)
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic}, cfg.install...)
	require.NoError(t, err)
	require.NoError(t, install.Register(s.reg))

	s.proxy, s.rc, s.dn = proxy.New(), rootcoord.New(), datanode.New()
	// go-grpc-middleware's recovery, outside, turns the panic the
	// interceptor passed on into codes.Internal.
	s.srv = grpc.NewServer(append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(
		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandler(func(p any) error {
			return status.Errorf(codes.Internal, "panic: %v", p)
		})),
	)}, install.ServerOptions()...)...)
	s.proxy.Register(s.srv)
	s.rc.Register(s.srv)
	s.dn.Register(s.srv)
	if extra != nil {
		extra(s.srv)
	}
	require.NoError(t, install.Init(s.srv))

	lis := bufconn.Listen(1 << 20)
	done := make(chan error, 1)
	go func() { done <- s.srv.Serve(lis) }()
	s.conn, err = grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, s.conn.Close())
		s.srv.Stop()
		if err := <-done; !errors.Is(err, grpc.ErrServerStopped) {
			assert.NoError(t, err, "Serve")
		}
	})
	s.milvus = milvuspb.NewMilvusServiceClient(s.conn)
	s.proxyC = proxypb.NewProxyClient(s.conn)
	s.rcC = rootcoordpb.NewRootCoordClient(s.conn)
	s.dnC = datapb.NewDataNodeClient(s.conn)
	return s
}

const coll = "c1"

func base() *commonpb.MsgBase { return &commonpb.MsgBase{SourceID: 7} }

// Setup steps call the example servers directly, bypassing gRPC and so the
// interceptor: they leave every counter untouched.
func mustOK(t *testing.T, resp proto.Message, err error) {
	t.Helper()
	require.NoError(t, err)
	require.False(t, milvustype.Status(resp), "setup step failed: %v", resp)
}

func (s *stack) proxyColl(t *testing.T) {
	ctx := context.Background()
	r, err := s.proxy.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{CollectionName: coll})
	mustOK(t, r, err)
}

func (s *stack) proxyIndex(t *testing.T) {
	s.proxyColl(t)
	r, err := s.proxy.CreateIndex(context.Background(), &milvuspb.CreateIndexRequest{CollectionName: coll, FieldName: "vec"})
	mustOK(t, r, err)
}

func (s *stack) proxyLoaded(t *testing.T) {
	s.proxyColl(t)
	r, err := s.proxy.LoadCollection(context.Background(), &milvuspb.LoadCollectionRequest{CollectionName: coll})
	mustOK(t, r, err)
}

func (s *stack) rcColl(t *testing.T) {
	ctx := context.Background()
	r, err := s.rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{CollectionName: coll})
	mustOK(t, r, err)
	d, err := s.rc.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: coll})
	mustOK(t, d, err)
	s.collID = d.GetCollectionID()
	p, err := s.rc.ShowPartitions(ctx, &milvuspb.ShowPartitionsRequest{CollectionName: coll})
	mustOK(t, p, err)
	require.Len(t, p.GetPartitionIDs(), 1)
	s.partID = p.GetPartitionIDs()[0]
}

func (s *stack) rcIndex(t *testing.T) {
	s.rcColl(t)
	r, err := s.rc.CreateIndex(context.Background(), &milvuspb.CreateIndexRequest{CollectionName: coll, FieldName: "vec"})
	mustOK(t, r, err)
}

func (s *stack) rcPartition(t *testing.T) {
	s.rcColl(t)
	r, err := s.rc.CreatePartition(context.Background(), &milvuspb.CreatePartitionRequest{CollectionName: coll, PartitionName: "p1"})
	mustOK(t, r, err)
}

type component int

const (
	proxyComp component = iota
	rootCoordComp
	dataNodeComp
)

// routeCase is one of the 49 routes of methodmap.Default.
type routeCase struct {
	method string
	comp   component
	// counter picks the route's counter vector.
	counter func(*registry.Metrics) *prometheus.CounterVec
	// setup prepares the example's state so that call succeeds.
	setup func(*testing.T, *stack)
	// call invokes the method through the real client.
	call func(context.Context, *stack) (proto.Message, error)
	// hasStatus is false when the response carries no Milvus status.
	hasStatus bool
	// plainFails is true when the plain call answers a failing status even
	// after setup (rootcoord's DescribeSegment: it knows no segments).
	plainFails bool
}

func (rc routeCase) child(m *registry.Metrics, label string) prometheus.Counter {
	switch rc.comp {
	case rootCoordComp:
		return rc.counter(m).WithLabelValues("client_7", label)
	default:
		return rc.counter(m).WithLabelValues(label)
	}
}

const (
	ms = "/milvus.proto.milvus.MilvusService/"
	px = "/milvus.proto.proxy.Proxy/"
	rc = "/milvus.proto.rootcoord.RootCoord/"
	dn = "/milvus.proto.data.DataNode/"
)

func noSetup(*testing.T, *stack) {}

func proxyColl(t *testing.T, s *stack)   { s.proxyColl(t) }
func proxyIndex(t *testing.T, s *stack)  { s.proxyIndex(t) }
func proxyLoaded(t *testing.T, s *stack) { s.proxyLoaded(t) }
func proxyPartition(t *testing.T, s *stack) {
	s.proxyColl(t)
	r, err := s.proxy.CreatePartition(context.Background(), &milvuspb.CreatePartitionRequest{CollectionName: coll, PartitionName: "p1"})
	mustOK(t, r, err)
}
func rcColl(t *testing.T, s *stack)      { s.rcColl(t) }
func rcIndex(t *testing.T, s *stack)     { s.rcIndex(t) }
func rcPartition(t *testing.T, s *stack) { s.rcPartition(t) }

func routeCases() []routeCase {
	p := func(f func(*registry.Proxy) *prometheus.CounterVec) func(*registry.Metrics) *prometheus.CounterVec {
		return func(m *registry.Metrics) *prometheus.CounterVec { return f(m.Proxy) }
	}
	r := func(f func(*registry.RootCoord) *prometheus.CounterVec) func(*registry.Metrics) *prometheus.CounterVec {
		return func(m *registry.Metrics) *prometheus.CounterVec { return f(m.RootCoord) }
	}
	d := func(f func(*registry.DataNode) *prometheus.CounterVec) func(*registry.Metrics) *prometheus.CounterVec {
		return func(m *registry.Metrics) *prometheus.CounterVec { return f(m.DataNode) }
	}
	return []routeCase{
		// MilvusService (proxy counters).
		{ms + "CreateCollection", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.CreateCollectionCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{ms + "DropCollection", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.DropCollectionCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.DropCollection(ctx, &milvuspb.DropCollectionRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{ms + "HasCollection", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.HasCollectionCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{ms + "LoadCollection", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.LoadCollectionCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.LoadCollection(ctx, &milvuspb.LoadCollectionRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{ms + "ReleaseCollection", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.ReleaseCollectionCounter }), proxyLoaded,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.ReleaseCollection(ctx, &milvuspb.ReleaseCollectionRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{ms + "DescribeCollection", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.DescribeCollectionCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{ms + "GetCollectionStatistics", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.GetCollectionStatisticsCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.GetCollectionStatistics(ctx, &milvuspb.GetCollectionStatisticsRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{ms + "ShowCollections", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.ShowCollectionsCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.ShowCollections(ctx, &milvuspb.ShowCollectionsRequest{Base: base()})
			}, true, false},
		{ms + "CreatePartition", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.CreatePartitionCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{Base: base(), CollectionName: coll, PartitionName: "p1"})
			}, true, false},
		{ms + "DropPartition", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.DropPartitionCounter }), proxyPartition,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.DropPartition(ctx, &milvuspb.DropPartitionRequest{Base: base(), CollectionName: coll, PartitionName: "p1"})
			}, true, false},
		{ms + "HasPartition", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.HasPartitionCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.HasPartition(ctx, &milvuspb.HasPartitionRequest{Base: base(), CollectionName: coll, PartitionName: "_default"})
			}, true, false},
		{ms + "LoadPartitions", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.LoadPartitionsCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.LoadPartitions(ctx, &milvuspb.LoadPartitionsRequest{Base: base(), CollectionName: coll, PartitionNames: []string{"_default"}})
			}, true, false},
		{ms + "ReleasePartitions", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.ReleasePartitionsCounter }), proxyLoaded,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.ReleasePartitions(ctx, &milvuspb.ReleasePartitionsRequest{Base: base(), CollectionName: coll, PartitionNames: []string{"_default"}})
			}, true, false},
		{ms + "GetPartitionStatistics", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.GetPartitionStatisticsCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.GetPartitionStatistics(ctx, &milvuspb.GetPartitionStatisticsRequest{Base: base(), CollectionName: coll, PartitionName: "_default"})
			}, true, false},
		{ms + "ShowPartitions", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.ShowPartitionsCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.ShowPartitions(ctx, &milvuspb.ShowPartitionsRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{ms + "CreateIndex", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.CreateIndexCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.CreateIndex(ctx, &milvuspb.CreateIndexRequest{Base: base(), CollectionName: coll, FieldName: "vec"})
			}, true, false},
		{ms + "DescribeIndex", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.DescribeIndexCounter }), proxyIndex,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{Base: base(), CollectionName: coll, FieldName: "vec"})
			}, true, false},
		{ms + "GetIndexState", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.GetIndexStateCounter }), proxyIndex,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.GetIndexState(ctx, &milvuspb.GetIndexStateRequest{Base: base(), CollectionName: coll, FieldName: "vec"})
			}, true, false},
		{ms + "GetIndexBuildProgress", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.GetIndexBuildProgressCounter }), proxyIndex,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.GetIndexBuildProgress(ctx, &milvuspb.GetIndexBuildProgressRequest{Base: base(), CollectionName: coll, FieldName: "vec"})
			}, true, false},
		{ms + "DropIndex", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.DropIndexCounter }), proxyIndex,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.DropIndex(ctx, &milvuspb.DropIndexRequest{Base: base(), CollectionName: coll, FieldName: "vec"})
			}, true, false},
		{ms + "Insert", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.InsertCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.Insert(ctx, &milvuspb.InsertRequest{Base: base(), CollectionName: coll, NumRows: 3})
			}, true, false},
		{ms + "Search", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.SearchCounter }), proxyLoaded,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.Search(ctx, &milvuspb.SearchRequest{Base: base(), CollectionName: coll, Nq: 1})
			}, true, false},
		{ms + "Flush", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.FlushCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.Flush(ctx, &milvuspb.FlushRequest{Base: base(), CollectionNames: []string{coll}})
			}, true, false},
		{ms + "Query", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.QueryCounter }), proxyLoaded,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.Query(ctx, &milvuspb.QueryRequest{Base: base(), CollectionName: coll, Expr: "id > 0"})
			}, true, false},
		{ms + "GetPersistentSegmentInfo", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.GetPersistentSegmentInfoCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.GetPersistentSegmentInfo(ctx, &milvuspb.GetPersistentSegmentInfoRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{ms + "GetQuerySegmentInfo", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.GetQuerySegmentInfoCounter }), proxyColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.GetQuerySegmentInfo(ctx, &milvuspb.GetQuerySegmentInfoRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{ms + "Dummy", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.DummyCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.Dummy(ctx, &milvuspb.DummyRequest{RequestType: "ping"})
			}, false, false},
		{ms + "RegisterLink", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.RegisterLinkCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.milvus.RegisterLink(ctx, &milvuspb.RegisterLinkRequest{})
			}, true, false},

		// Proxy service (proxy counters).
		{px + "GetComponentStates", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.GetComponentStatesCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.proxyC.GetComponentStates(ctx, &internalpb.GetComponentStatesRequest{})
			}, true, false},
		{px + "GetStatisticsChannel", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.GetStatisticsChannelCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.proxyC.GetStatisticsChannel(ctx, &internalpb.GetStatisticsChannelRequest{})
			}, true, false},
		{px + "InvalidateCollectionMetaCache", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.InvalidateCollectionMetaCacheCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.proxyC.InvalidateCollectionMetaCache(ctx, &proxypb.InvalidateCollMetaCacheRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{px + "GetDdChannel", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.GetDdChannelCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.proxyC.GetDdChannel(ctx, &internalpb.GetDdChannelRequest{})
			}, true, false},
		{px + "ReleaseDQLMessageStream", proxyComp, p(func(c *registry.Proxy) *prometheus.CounterVec { return c.ReleaseDQLMessageStreamCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.proxyC.ReleaseDQLMessageStream(ctx, &proxypb.ReleaseDQLMessageStreamRequest{Base: base(), CollectionID: 1})
			}, true, false},

		// RootCoord (rootcoord counters, client_id and type labels).
		{rc + "CreateCollection", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.CreateCollectionCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{rc + "DropCollection", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.DropCollectionCounter }), rcColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.DropCollection(ctx, &milvuspb.DropCollectionRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{rc + "HasCollection", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.HasCollectionCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{rc + "DescribeCollection", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.DescribeCollectionCounter }), rcColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{rc + "ShowCollections", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.ShowCollectionsCounter }), rcColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.ShowCollections(ctx, &milvuspb.ShowCollectionsRequest{Base: base(), CollectionNames: []string{coll}})
			}, true, false},
		{rc + "CreatePartition", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.CreatePartitionCounter }), rcColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{Base: base(), CollectionName: coll, PartitionName: "p1"})
			}, true, false},
		{rc + "DropPartition", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.DropPartitionCounter }), rcPartition,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.DropPartition(ctx, &milvuspb.DropPartitionRequest{Base: base(), CollectionName: coll, PartitionName: "p1"})
			}, true, false},
		{rc + "HasPartition", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.HasPartitionCounter }), rcColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.HasPartition(ctx, &milvuspb.HasPartitionRequest{Base: base(), CollectionName: coll, PartitionName: "_default"})
			}, true, false},
		{rc + "ShowPartitions", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.ShowPartitionsCounter }), rcColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.ShowPartitions(ctx, &milvuspb.ShowPartitionsRequest{Base: base(), CollectionName: coll})
			}, true, false},
		{rc + "CreateIndex", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.CreateIndexCounter }), rcColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.CreateIndex(ctx, &milvuspb.CreateIndexRequest{Base: base(), CollectionName: coll, FieldName: "vec"})
			}, true, false},
		{rc + "DropIndex", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.DropIndexCounter }), rcIndex,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.DropIndex(ctx, &milvuspb.DropIndexRequest{Base: base(), CollectionName: coll, FieldName: "vec"})
			}, true, false},
		{rc + "DescribeIndex", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.DescribeIndexCounter }), rcIndex,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{Base: base(), CollectionName: coll})
			}, true, false},
		// The example root coordinator receives no inserts, so it knows no
		// segment: DescribeSegment of an existing collection always answers a
		// failing status.
		{rc + "DescribeSegment", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.DescribeSegmentCounter }), rcColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.DescribeSegment(ctx, &milvuspb.DescribeSegmentRequest{Base: base(), CollectionID: s.collID, SegmentID: 1})
			}, true, true},
		{rc + "ShowSegments", rootCoordComp, r(func(c *registry.RootCoord) *prometheus.CounterVec { return c.ShowSegmentsCounter }), rcColl,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.rcC.ShowSegments(ctx, &milvuspb.ShowSegmentsRequest{Base: base(), CollectionID: s.collID, PartitionID: s.partID})
			}, true, false},

		// DataNode (datanode counters, type label).
		{dn + "FlushSegments", dataNodeComp, d(func(c *registry.DataNode) *prometheus.CounterVec { return c.FlushSegmentsCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.dnC.FlushSegments(ctx, &datapb.FlushSegmentsRequest{Base: base(), CollectionID: 1, SegmentIDs: []int64{1, 2}})
			}, true, false},
		{dn + "WatchDmChannels", dataNodeComp, d(func(c *registry.DataNode) *prometheus.CounterVec { return c.WatchDmChannelsCounter }), noSetup,
			func(ctx context.Context, s *stack) (proto.Message, error) {
				return s.dnC.WatchDmChannels(ctx, &datapb.WatchDmChannelsRequest{Base: base(), Vchannels: []string{"ch1"}})
			}, true, false},
	}
}

func TestRouteTableCoversDefaultMap(t *testing.T) {
	methods, err := methodmap.Default(suRegistered(t))
	require.NoError(t, err)
	cases := routeCases()
	require.Len(t, cases, 49)
	require.Equal(t, 49, methods.Len())
	seen := make(map[string]bool)
	for _, c := range cases {
		require.False(t, seen[c.method], "duplicate %s", c.method)
		seen[c.method] = true
		_, ok := methods.Lookup(c.method)
		require.True(t, ok, "%s not in the default map", c.method)
	}
}

func TestEveryRoute(t *testing.T) {
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			for _, rcase := range routeCases() {
				t.Run(rcase.method, func(t *testing.T) {
					s := newStack(t, cfg, nil)
					rcase.setup(t, s)
					ctx := context.Background()

					// Plain call.
					resp, err := rcase.call(ctx, s)
					require.NoError(t, err)
					if rcase.hasStatus {
						require.Equal(t, rcase.plainFails, milvustype.Status(resp), "plain call status: %v", resp)
					}
					wantSuccess, wantFail := 1.0, 0.0
					if rcase.plainFails {
						wantSuccess, wantFail = 0, 1
					}

					// Injected faults: the handler never runs, so state is untouched.
					for _, mode := range []fault.Mode{fault.ErrorCode, fault.Code, fault.Error, fault.Panic} {
						resp, err := rcase.call(fault.AppendToOutgoingContext(ctx, mode), s)
						switch mode {
						case fault.Error, fault.Panic:
							require.Equal(t, codes.Internal, status.Code(err), "mode %s", mode)
							wantFail++
						default:
							require.NoError(t, err, "mode %s", mode)
							if rcase.hasStatus {
								require.True(t, milvustype.Status(resp), "mode %s: %v", mode, resp)
								wantFail++
							} else {
								wantSuccess++ // no status: a status fault is no failure
							}
						}
					}

					m := s.m
					require.Equal(t, 5.0, testutil.ToFloat64(rcase.child(m, registry.TotalLabel)), "total")
					require.Equal(t, wantSuccess, testutil.ToFloat64(rcase.child(m, registry.SuccessLabel)), "success")
					require.Equal(t, wantFail, testutil.ToFloat64(rcase.child(m, registry.FailLabel)), "fail")
					// Exactly the three series of this route, nothing else.
					require.Equal(t, 3, testutil.CollectAndCount(rcase.counter(m)))
				})
			}
		})
	}
}

func TestClientIDWithAndWithoutBase(t *testing.T) {
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			s := newStack(t, cfg, nil)
			ctx := context.Background()
			_, err := s.rcC.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: base(), CollectionName: coll})
			require.NoError(t, err)
			_, err = s.rcC.HasCollection(ctx, &milvuspb.HasCollectionRequest{CollectionName: coll})
			require.NoError(t, err)
			_, err = s.rcC.HasCollection(ctx, &milvuspb.HasCollectionRequest{CollectionName: coll})
			require.NoError(t, err)

			vec := s.m.RootCoord.HasCollectionCounter
			for _, tc := range []struct {
				client string
				n      float64
			}{{"client_7", 1}, {registry.UnknownClientLabel, 2}} {
				require.Equal(t, tc.n, testutil.ToFloat64(vec.WithLabelValues(tc.client, registry.TotalLabel)), tc.client)
				require.Equal(t, tc.n, testutil.ToFloat64(vec.WithLabelValues(tc.client, registry.SuccessLabel)), tc.client)
				require.Equal(t, 0.0, testutil.ToFloat64(vec.WithLabelValues(tc.client, registry.FailLabel)), tc.client)
			}
			require.Equal(t, 6, testutil.CollectAndCount(vec))
		})
	}
}

func TestUnmappedMethodsLeaveCountersUntouched(t *testing.T) {
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			s := newStack(t, cfg, func(srv *grpc.Server) {
				healthpb.RegisterHealthServer(srv, health.NewServer())
			})
			ctx := context.Background()
			// Count one mapped call so the registry is not empty.
			_, err := s.milvus.Dummy(ctx, &milvuspb.DummyRequest{RequestType: "x"})
			require.NoError(t, err)
			before, err := s.reg.Gather()
			require.NoError(t, err)
			require.NotEmpty(t, before)

			for _, tc := range []struct {
				name string
				call func() error
				code codes.Code
			}{
				{"health check", func() error {
					_, err := healthpb.NewHealthClient(s.conn).Check(ctx, &healthpb.HealthCheckRequest{})
					return err
				}, codes.OK},
				{"health check with panic fault", func() error {
					_, err := healthpb.NewHealthClient(s.conn).Check(fault.AppendToOutgoingContext(ctx, fault.Panic), &healthpb.HealthCheckRequest{})
					return err
				}, codes.OK},
				{"unknown service", func() error {
					return s.conn.Invoke(ctx, "/other.Svc/M", &emptypb.Empty{}, &emptypb.Empty{})
				}, codes.Unimplemented},
				{"unknown method of a mapped service", func() error {
					return s.conn.Invoke(ctx, ms+"NoSuchMethod", &emptypb.Empty{}, &emptypb.Empty{})
				}, codes.Unimplemented},
			} {
				t.Run(tc.name, func(t *testing.T) {
					require.Equal(t, tc.code, status.Code(tc.call()))
					after, err := s.reg.Gather()
					require.NoError(t, err)
					require.Len(t, after, len(before))
					for i := range before {
						require.True(t, proto.Equal(before[i], after[i]), "family %s changed:\nbefore %v\nafter  %v",
							before[i].GetName(), before[i], after[i])
					}
				})
			}
		})
	}
}

func TestPanicThroughRecovery(t *testing.T) {
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			s := newStack(t, cfg, nil)
			ctx := fault.AppendToOutgoingContext(context.Background(), fault.Panic)
			_, err := s.milvus.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: base(), CollectionName: coll})
			require.Equal(t, codes.Internal, status.Code(err))
			_, err = s.rcC.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: base(), CollectionName: coll})
			require.Equal(t, codes.Internal, status.Code(err))

			// The server survives and keeps counting.
			_, err = s.milvus.HasCollection(context.Background(), &milvuspb.HasCollectionRequest{CollectionName: coll})
			require.NoError(t, err)

			pv := s.m.Proxy.HasCollectionCounter
			require.Equal(t, 2.0, testutil.ToFloat64(pv.WithLabelValues(registry.TotalLabel)))
			require.Equal(t, 1.0, testutil.ToFloat64(pv.WithLabelValues(registry.SuccessLabel)))
			require.Equal(t, 1.0, testutil.ToFloat64(pv.WithLabelValues(registry.FailLabel)))
			rv := s.m.RootCoord.HasCollectionCounter
			require.Equal(t, 1.0, testutil.ToFloat64(rv.WithLabelValues("client_7", registry.TotalLabel)))
			require.Equal(t, 0.0, testutil.ToFloat64(rv.WithLabelValues("client_7", registry.SuccessLabel)))
			require.Equal(t, 1.0, testutil.ToFloat64(rv.WithLabelValues("client_7", registry.FailLabel)))
		})
	}
}

func TestCheckCoversExampleServer(t *testing.T) {
	s := newStack(t, config{}, nil)
	cov := s.methods.Check(s.srv)
	require.Empty(t, cov.Unmapped)
	require.Empty(t, cov.Unknown)

	// The examples' own NewGRPCServer adds only the (streaming) reflection
	// service, which is not reported either.
	for _, srv := range []*grpc.Server{proxy.New().NewGRPCServer(), rootcoord.New().NewGRPCServer(), datanode.New().NewGRPCServer()} {
		cov := s.methods.Check(srv)
		require.Empty(t, cov.Unmapped, fmt.Sprint(srv.GetServiceInfo()))
		require.Empty(t, cov.Unknown)
		srv.Stop()
	}
}
