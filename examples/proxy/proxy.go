package proxy

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/internal/catalog"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/internalpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/proxypb"
)

// Channel names answered by [Server.GetStatisticsChannel] and
// [Server.GetDdChannel].
const (
	StatisticsChannel = "grpcmetrics-example-proxy-statistics"
	DdChannel         = "grpcmetrics-example-rootcoord-dd"
)

// Role is the component role reported by [Server.GetComponentStates].
const Role = "Proxy"

// Server is an example Milvus proxy. It implements
// [milvuspb.MilvusServiceServer] and [proxypb.ProxyServer]. Create one with
// [New]; it is safe for concurrent use.
type Server struct {
	milvuspb.UnimplementedMilvusServiceServer
	proxypb.UnimplementedProxyServer

	catalog *catalog.Catalog
}

var (
	_ milvuspb.MilvusServiceServer = (*Server)(nil)
	_ proxypb.ProxyServer          = (*Server)(nil)
)

// New returns a proxy with an empty catalog.
func New() *Server {
	return &Server{catalog: catalog.New()}
}

// Register registers the MilvusService and Proxy services of s on r.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	milvuspb.RegisterMilvusServiceServer(r, s)
	proxypb.RegisterProxyServer(r, s)
}

// NewGRPCServer returns a new [grpc.Server] built with opts (for example
// [grpc.ChainUnaryInterceptor] with the grpcmetrics interceptor), with the
// services of s and the gRPC reflection service registered.
func (s *Server) NewGRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	srv := grpc.NewServer(opts...)
	s.Register(srv)
	reflection.Register(srv)
	return srv
}

// CreateCollection creates a collection with its default partition.
func (s *Server) CreateCollection(ctx context.Context, req *milvuspb.CreateCollectionRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.catalog.CreateCollection)
}

// DropCollection drops a collection.
func (s *Server) DropCollection(ctx context.Context, req *milvuspb.DropCollectionRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.catalog.DropCollection)
}

// HasCollection reports whether a collection exists.
func (s *Server) HasCollection(ctx context.Context, req *milvuspb.HasCollectionRequest) (*milvuspb.BoolResponse, error) {
	return fault.Handle(ctx, req, s.catalog.HasCollection)
}

// LoadCollection loads a collection for search and query.
func (s *Server) LoadCollection(ctx context.Context, req *milvuspb.LoadCollectionRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.catalog.LoadCollection)
}

// ReleaseCollection releases a loaded collection.
func (s *Server) ReleaseCollection(ctx context.Context, req *milvuspb.ReleaseCollectionRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.catalog.ReleaseCollection)
}

// DescribeCollection describes a collection.
func (s *Server) DescribeCollection(ctx context.Context, req *milvuspb.DescribeCollectionRequest) (*milvuspb.DescribeCollectionResponse, error) {
	return fault.Handle(ctx, req, s.catalog.DescribeCollection)
}

// GetCollectionStatistics returns the row count of a collection.
func (s *Server) GetCollectionStatistics(ctx context.Context, req *milvuspb.GetCollectionStatisticsRequest) (*milvuspb.GetCollectionStatisticsResponse, error) {
	return fault.Handle(ctx, req, s.catalog.GetCollectionStatistics)
}

// ShowCollections lists collections.
func (s *Server) ShowCollections(ctx context.Context, req *milvuspb.ShowCollectionsRequest) (*milvuspb.ShowCollectionsResponse, error) {
	return fault.Handle(ctx, req, s.catalog.ShowCollections)
}

// CreatePartition creates a partition.
func (s *Server) CreatePartition(ctx context.Context, req *milvuspb.CreatePartitionRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.catalog.CreatePartition)
}

// DropPartition drops a partition.
func (s *Server) DropPartition(ctx context.Context, req *milvuspb.DropPartitionRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.catalog.DropPartition)
}

// HasPartition reports whether a partition exists.
func (s *Server) HasPartition(ctx context.Context, req *milvuspb.HasPartitionRequest) (*milvuspb.BoolResponse, error) {
	return fault.Handle(ctx, req, s.catalog.HasPartition)
}

// LoadPartitions loads partitions for search and query.
func (s *Server) LoadPartitions(ctx context.Context, req *milvuspb.LoadPartitionsRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.catalog.LoadPartitions)
}

// ReleasePartitions releases loaded partitions.
func (s *Server) ReleasePartitions(ctx context.Context, req *milvuspb.ReleasePartitionsRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.catalog.ReleasePartitions)
}

// GetPartitionStatistics returns the row count of a partition.
func (s *Server) GetPartitionStatistics(ctx context.Context, req *milvuspb.GetPartitionStatisticsRequest) (*milvuspb.GetPartitionStatisticsResponse, error) {
	return fault.Handle(ctx, req, s.catalog.GetPartitionStatistics)
}

// ShowPartitions lists the partitions of a collection.
func (s *Server) ShowPartitions(ctx context.Context, req *milvuspb.ShowPartitionsRequest) (*milvuspb.ShowPartitionsResponse, error) {
	return fault.Handle(ctx, req, s.catalog.ShowPartitions)
}

// CreateIndex creates an index on a field.
func (s *Server) CreateIndex(ctx context.Context, req *milvuspb.CreateIndexRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.catalog.CreateIndex)
}

// DescribeIndex describes indexes of a collection.
func (s *Server) DescribeIndex(ctx context.Context, req *milvuspb.DescribeIndexRequest) (*milvuspb.DescribeIndexResponse, error) {
	return fault.Handle(ctx, req, s.catalog.DescribeIndex)
}

// GetIndexState reports the build state of an index.
func (s *Server) GetIndexState(ctx context.Context, req *milvuspb.GetIndexStateRequest) (*milvuspb.GetIndexStateResponse, error) {
	return fault.Handle(ctx, req, s.catalog.GetIndexState)
}

// GetIndexBuildProgress reports how many rows an index covers.
func (s *Server) GetIndexBuildProgress(ctx context.Context, req *milvuspb.GetIndexBuildProgressRequest) (*milvuspb.GetIndexBuildProgressResponse, error) {
	return fault.Handle(ctx, req, s.catalog.GetIndexBuildProgress)
}

// DropIndex drops an index.
func (s *Server) DropIndex(ctx context.Context, req *milvuspb.DropIndexRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.catalog.DropIndex)
}

// Insert adds rows to a partition.
func (s *Server) Insert(ctx context.Context, req *milvuspb.InsertRequest) (*milvuspb.MutationResult, error) {
	return fault.Handle(ctx, req, s.catalog.Insert)
}

// Search searches a loaded collection.
func (s *Server) Search(ctx context.Context, req *milvuspb.SearchRequest) (*milvuspb.SearchResults, error) {
	return fault.Handle(ctx, req, s.catalog.Search)
}

// Flush flushes the growing segments of collections.
func (s *Server) Flush(ctx context.Context, req *milvuspb.FlushRequest) (*milvuspb.FlushResponse, error) {
	return fault.Handle(ctx, req, s.catalog.Flush)
}

// Query queries a loaded collection.
func (s *Server) Query(ctx context.Context, req *milvuspb.QueryRequest) (*milvuspb.QueryResults, error) {
	return fault.Handle(ctx, req, s.catalog.Query)
}

// GetPersistentSegmentInfo lists the flushed segments of a collection.
func (s *Server) GetPersistentSegmentInfo(ctx context.Context, req *milvuspb.GetPersistentSegmentInfoRequest) (*milvuspb.GetPersistentSegmentInfoResponse, error) {
	return fault.Handle(ctx, req, s.catalog.GetPersistentSegmentInfo)
}

// GetQuerySegmentInfo lists the loaded segments of a collection.
func (s *Server) GetQuerySegmentInfo(ctx context.Context, req *milvuspb.GetQuerySegmentInfoRequest) (*milvuspb.GetQuerySegmentInfoResponse, error) {
	return fault.Handle(ctx, req, s.catalog.GetQuerySegmentInfo)
}

// Dummy echoes its request type. Its response has no Milvus status, so only
// the error and panic faults change its outcome.
func (s *Server) Dummy(ctx context.Context, req *milvuspb.DummyRequest) (*milvuspb.DummyResponse, error) {
	return fault.Handle(ctx, req, func(req *milvuspb.DummyRequest) (*milvuspb.DummyResponse, error) {
		return &milvuspb.DummyResponse{Response: "dummy " + req.GetRequestType()}, nil
	})
}

// RegisterLink answers a client's link check with a successful status.
func (s *Server) RegisterLink(ctx context.Context, req *milvuspb.RegisterLinkRequest) (*milvuspb.RegisterLinkResponse, error) {
	return fault.Handle(ctx, req, func(*milvuspb.RegisterLinkRequest) (*milvuspb.RegisterLinkResponse, error) {
		return &milvuspb.RegisterLinkResponse{Address: &commonpb.Address{}, Status: catalog.Success()}, nil
	})
}

// GetComponentStates reports the proxy as healthy.
func (s *Server) GetComponentStates(ctx context.Context, req *internalpb.GetComponentStatesRequest) (*internalpb.ComponentStates, error) {
	return fault.Handle(ctx, req, func(*internalpb.GetComponentStatesRequest) (*internalpb.ComponentStates, error) {
		return &internalpb.ComponentStates{
			State:  &internalpb.ComponentInfo{Role: Role, StateCode: internalpb.StateCode_Healthy},
			Status: catalog.Success(),
		}, nil
	})
}

// GetStatisticsChannel returns [StatisticsChannel].
func (s *Server) GetStatisticsChannel(ctx context.Context, req *internalpb.GetStatisticsChannelRequest) (*milvuspb.StringResponse, error) {
	return fault.Handle(ctx, req, func(*internalpb.GetStatisticsChannelRequest) (*milvuspb.StringResponse, error) {
		return &milvuspb.StringResponse{Status: catalog.Success(), Value: StatisticsChannel}, nil
	})
}

// GetDdChannel returns [DdChannel].
func (s *Server) GetDdChannel(ctx context.Context, req *internalpb.GetDdChannelRequest) (*milvuspb.StringResponse, error) {
	return fault.Handle(ctx, req, func(*internalpb.GetDdChannelRequest) (*milvuspb.StringResponse, error) {
		return &milvuspb.StringResponse{Status: catalog.Success(), Value: DdChannel}, nil
	})
}

// InvalidateCollectionMetaCache succeeds for any named collection: the
// example proxy keeps no cache apart from its catalog.
func (s *Server) InvalidateCollectionMetaCache(ctx context.Context, req *proxypb.InvalidateCollMetaCacheRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, func(req *proxypb.InvalidateCollMetaCacheRequest) (*commonpb.Status, error) {
		if err := catalog.RequireName("collection", req.GetCollectionName()); err != nil {
			return nil, err
		}
		return catalog.Success(), nil
	})
}

// ReleaseDQLMessageStream succeeds: the example proxy has no streams.
func (s *Server) ReleaseDQLMessageStream(ctx context.Context, req *proxypb.ReleaseDQLMessageStreamRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, func(*proxypb.ReleaseDQLMessageStreamRequest) (*commonpb.Status, error) {
		return catalog.Success(), nil
	})
}
