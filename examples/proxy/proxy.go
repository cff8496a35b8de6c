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

// Server is an example Milvus proxy. It implements
// [milvuspb.MilvusServiceServer] and [proxypb.ProxyServer]. Create one with
// [New]; it is safe for concurrent use.
type Server struct {
	// Catalog serves the collection, partition and index methods.
	*catalog.Catalog
	// The Unsafe interfaces, unlike the Unimplemented structs, leave every
	// method to Server, so the compiler checks that each one is served.
	milvuspb.UnsafeMilvusServiceServer
	proxypb.UnsafeProxyServer
}

var (
	_ milvuspb.MilvusServiceServer = (*Server)(nil)
	_ proxypb.ProxyServer          = (*Server)(nil)
)

// New returns a proxy with an empty catalog.
func New() *Server {
	return &Server{Catalog: catalog.New()}
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

// LoadCollection answers whether the collection exists.
func (s *Server) LoadCollection(ctx context.Context, req *milvuspb.LoadCollectionRequest) (*commonpb.Status, error) {
	return catalog.ForCollection[*commonpb.Status](ctx, s.Catalog, req)
}

// ReleaseCollection answers whether the collection exists.
func (s *Server) ReleaseCollection(ctx context.Context, req *milvuspb.ReleaseCollectionRequest) (*commonpb.Status, error) {
	return catalog.ForCollection[*commonpb.Status](ctx, s.Catalog, req)
}

// GetCollectionStatistics answers whether the collection exists, with no
// statistics.
func (s *Server) GetCollectionStatistics(ctx context.Context, req *milvuspb.GetCollectionStatisticsRequest) (*milvuspb.GetCollectionStatisticsResponse, error) {
	return catalog.ForCollection[*milvuspb.GetCollectionStatisticsResponse](ctx, s.Catalog, req)
}

// LoadPartitions answers whether the collection exists.
func (s *Server) LoadPartitions(ctx context.Context, req *milvuspb.LoadPartitionsRequest) (*commonpb.Status, error) {
	return catalog.ForCollection[*commonpb.Status](ctx, s.Catalog, req)
}

// ReleasePartitions answers whether the collection exists.
func (s *Server) ReleasePartitions(ctx context.Context, req *milvuspb.ReleasePartitionsRequest) (*commonpb.Status, error) {
	return catalog.ForCollection[*commonpb.Status](ctx, s.Catalog, req)
}

// GetPartitionStatistics answers whether the collection exists, with no
// statistics.
func (s *Server) GetPartitionStatistics(ctx context.Context, req *milvuspb.GetPartitionStatisticsRequest) (*milvuspb.GetPartitionStatisticsResponse, error) {
	return catalog.ForCollection[*milvuspb.GetPartitionStatisticsResponse](ctx, s.Catalog, req)
}

// GetIndexState answers whether the collection exists.
func (s *Server) GetIndexState(ctx context.Context, req *milvuspb.GetIndexStateRequest) (*milvuspb.GetIndexStateResponse, error) {
	return catalog.ForCollection[*milvuspb.GetIndexStateResponse](ctx, s.Catalog, req)
}

// GetIndexBuildProgress answers whether the collection exists.
func (s *Server) GetIndexBuildProgress(ctx context.Context, req *milvuspb.GetIndexBuildProgressRequest) (*milvuspb.GetIndexBuildProgressResponse, error) {
	return catalog.ForCollection[*milvuspb.GetIndexBuildProgressResponse](ctx, s.Catalog, req)
}

// Insert answers whether the collection exists; no row is kept.
func (s *Server) Insert(ctx context.Context, req *milvuspb.InsertRequest) (*milvuspb.MutationResult, error) {
	return catalog.ForCollection[*milvuspb.MutationResult](ctx, s.Catalog, req)
}

// Search answers whether the collection exists, with no result.
func (s *Server) Search(ctx context.Context, req *milvuspb.SearchRequest) (*milvuspb.SearchResults, error) {
	return catalog.ForCollection[*milvuspb.SearchResults](ctx, s.Catalog, req)
}

// Query answers whether the collection exists, with no result.
func (s *Server) Query(ctx context.Context, req *milvuspb.QueryRequest) (*milvuspb.QueryResults, error) {
	return catalog.ForCollection[*milvuspb.QueryResults](ctx, s.Catalog, req)
}

// GetPersistentSegmentInfo answers whether the collection exists, with no
// segment.
func (s *Server) GetPersistentSegmentInfo(ctx context.Context, req *milvuspb.GetPersistentSegmentInfoRequest) (*milvuspb.GetPersistentSegmentInfoResponse, error) {
	return catalog.ForCollection[*milvuspb.GetPersistentSegmentInfoResponse](ctx, s.Catalog, req)
}

// GetQuerySegmentInfo answers whether the collection exists, with no
// segment.
func (s *Server) GetQuerySegmentInfo(ctx context.Context, req *milvuspb.GetQuerySegmentInfoRequest) (*milvuspb.GetQuerySegmentInfoResponse, error) {
	return catalog.ForCollection[*milvuspb.GetQuerySegmentInfoResponse](ctx, s.Catalog, req)
}

// Flush succeeds: there is nothing to flush.
func (s *Server) Flush(ctx context.Context, _ *milvuspb.FlushRequest) (*milvuspb.FlushResponse, error) {
	return catalog.Succeed[*milvuspb.FlushResponse](ctx)
}

// Dummy answers "dummy " and the request type. Its response has no Milvus
// status, so only the error and panic faults change its outcome.
func (s *Server) Dummy(ctx context.Context, req *milvuspb.DummyRequest) (*milvuspb.DummyResponse, error) {
	return fault.Handle(ctx, func() (*milvuspb.DummyResponse, error) {
		return &milvuspb.DummyResponse{Response: "dummy " + req.GetRequestType()}, nil
	})
}

// RegisterLink succeeds.
func (s *Server) RegisterLink(ctx context.Context, _ *milvuspb.RegisterLinkRequest) (*milvuspb.RegisterLinkResponse, error) {
	return catalog.Succeed[*milvuspb.RegisterLinkResponse](ctx)
}

// GetComponentStates succeeds, with no state.
func (s *Server) GetComponentStates(ctx context.Context, _ *internalpb.GetComponentStatesRequest) (*internalpb.ComponentStates, error) {
	return catalog.Succeed[*internalpb.ComponentStates](ctx)
}

// GetStatisticsChannel succeeds, with no channel.
func (s *Server) GetStatisticsChannel(ctx context.Context, _ *internalpb.GetStatisticsChannelRequest) (*milvuspb.StringResponse, error) {
	return catalog.Succeed[*milvuspb.StringResponse](ctx)
}

// GetDdChannel succeeds, with no channel.
func (s *Server) GetDdChannel(ctx context.Context, _ *internalpb.GetDdChannelRequest) (*milvuspb.StringResponse, error) {
	return catalog.Succeed[*milvuspb.StringResponse](ctx)
}

// InvalidateCollectionMetaCache succeeds: the proxy keeps no cache.
func (s *Server) InvalidateCollectionMetaCache(ctx context.Context, _ *proxypb.InvalidateCollMetaCacheRequest) (*commonpb.Status, error) {
	return catalog.Succeed[*commonpb.Status](ctx)
}

// ReleaseDQLMessageStream succeeds: the proxy has no message streams.
func (s *Server) ReleaseDQLMessageStream(ctx context.Context, _ *proxypb.ReleaseDQLMessageStreamRequest) (*commonpb.Status, error) {
	return catalog.Succeed[*commonpb.Status](ctx)
}
