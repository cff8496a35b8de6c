package datanode

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/internal/catalog"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/datapb"
)

// Server is an example Milvus data node. It implements
// [datapb.DataNodeServer]. Create one with [New]; it is safe for concurrent
// use.
type Server struct {
	// The Unsafe interface, unlike the Unimplemented struct, leaves every
	// method to Server, so the compiler checks that each one is served.
	datapb.UnsafeDataNodeServer
}

var _ datapb.DataNodeServer = (*Server)(nil)

// New returns a data node.
func New() *Server {
	return &Server{}
}

// Register registers the DataNode service of s on r.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	datapb.RegisterDataNodeServer(r, s)
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

// FlushSegments succeeds.
func (s *Server) FlushSegments(ctx context.Context, _ *datapb.FlushSegmentsRequest) (*commonpb.Status, error) {
	return catalog.Succeed[*commonpb.Status](ctx)
}

// WatchDmChannels succeeds for a request that names channels; one that names
// none is a gRPC [codes.InvalidArgument] error.
func (s *Server) WatchDmChannels(ctx context.Context, req *datapb.WatchDmChannelsRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, func() (*commonpb.Status, error) {
		if len(req.GetVchannels()) == 0 {
			return nil, status.Error(codes.InvalidArgument, "no channel to watch")
		}
		return catalog.Success(), nil
	})
}
