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
	// Catalog serves the collection, partition and index methods.
	*catalog.Catalog
	// The Unsafe interface, unlike the Unimplemented struct, leaves every
	// method to Server, so the compiler checks that each one is served.
	rootcoordpb.UnsafeRootCoordServer
}

var _ rootcoordpb.RootCoordServer = (*Server)(nil)

// New returns a root coordinator with an empty catalog.
func New() *Server {
	return &Server{Catalog: catalog.New()}
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

// DescribeSegment answers a failing status: the root coordinator keeps no
// segments.
func (s *Server) DescribeSegment(ctx context.Context, req *milvuspb.DescribeSegmentRequest) (*milvuspb.DescribeSegmentResponse, error) {
	return fault.Handle(ctx, func() (*milvuspb.DescribeSegmentResponse, error) {
		return &milvuspb.DescribeSegmentResponse{
			Status: catalog.Failure(commonpb.ErrorCode_UnexpectedError, "segment %d not found", req.GetSegmentID()),
		}, nil
	})
}

// ShowSegments succeeds, with no segment.
func (s *Server) ShowSegments(ctx context.Context, _ *milvuspb.ShowSegmentsRequest) (*milvuspb.ShowSegmentsResponse, error) {
	return catalog.Succeed[*milvuspb.ShowSegmentsResponse](ctx)
}
