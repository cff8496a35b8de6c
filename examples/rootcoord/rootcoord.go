package rootcoord

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/internal/catalog"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
)

// Server is an example Milvus root coordinator. It implements
// [rootcoordpb.RootCoordServer]. Create one with [New]; it is safe for
// concurrent use.
type Server struct {
	rootcoordpb.UnimplementedRootCoordServer

	catalog *catalog.Catalog
}

var _ rootcoordpb.RootCoordServer = (*Server)(nil)

// New returns a root coordinator with an empty catalog.
func New() *Server {
	return &Server{catalog: catalog.New()}
}

// Register registers the RootCoord service of s on r.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	rootcoordpb.RegisterRootCoordServer(r, s)
}

// NewGRPCServer returns a new [grpc.Server] built with opts (for example
// [grpc.ChainUnaryInterceptor] with the grpcmetrics interceptor), with the
// service of s and the gRPC reflection service registered.
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

// DescribeCollection describes a collection.
func (s *Server) DescribeCollection(ctx context.Context, req *milvuspb.DescribeCollectionRequest) (*milvuspb.DescribeCollectionResponse, error) {
	return fault.Handle(ctx, req, s.catalog.DescribeCollection)
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

// DropIndex drops an index.
func (s *Server) DropIndex(ctx context.Context, req *milvuspb.DropIndexRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.catalog.DropIndex)
}

// DescribeSegment describes a segment by collection and segment ID. The
// root coordinator receives no inserts, so it knows no segments and answers
// a failing status for any segment of an existing collection.
func (s *Server) DescribeSegment(ctx context.Context, req *milvuspb.DescribeSegmentRequest) (*milvuspb.DescribeSegmentResponse, error) {
	return fault.Handle(ctx, req, s.catalog.DescribeSegment)
}

// ShowSegments lists the segments of a partition by collection and partition
// ID; the list is empty (see [Server.DescribeSegment]).
func (s *Server) ShowSegments(ctx context.Context, req *milvuspb.ShowSegmentsRequest) (*milvuspb.ShowSegmentsResponse, error) {
	return fault.Handle(ctx, req, s.catalog.ShowSegments)
}
