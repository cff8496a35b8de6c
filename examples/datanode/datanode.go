package datanode

import (
	"context"
	"slices"
	"sync"

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
	datapb.UnimplementedDataNodeServer

	mu       sync.Mutex
	channels map[string]struct{}
	flushed  map[int64]struct{}
}

var _ datapb.DataNodeServer = (*Server)(nil)

// New returns a data node that watches no channel.
func New() *Server {
	return &Server{channels: make(map[string]struct{}), flushed: make(map[int64]struct{})}
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

// FlushSegments flushes segments of a collection. A request without a
// collection ID is a gRPC [codes.InvalidArgument] error; one without segments,
// or with a segment flushed before, is a failing status.
func (s *Server) FlushSegments(ctx context.Context, req *datapb.FlushSegmentsRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.flushSegments)
}

func (s *Server) flushSegments(req *datapb.FlushSegmentsRequest) (*commonpb.Status, error) {
	if req.GetCollectionID() == 0 {
		return nil, status.Error(codes.InvalidArgument, "collection ID must be set")
	}
	ids := req.GetSegmentIDs()
	if len(ids) == 0 {
		return catalog.Failure(commonpb.ErrorCode_IllegalArgument, "no segments to flush in collection %d", req.GetCollectionID()), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.flushed[id]; ok {
			return catalog.Failure(commonpb.ErrorCode_UnexpectedError, "segment %d is already flushed", id), nil
		}
	}
	for _, id := range ids {
		s.flushed[id] = struct{}{}
	}
	return catalog.Success(), nil
}

// WatchDmChannels starts watching virtual channels. A request without
// channels is a gRPC [codes.InvalidArgument] error; a channel watched already
// is a failing status.
func (s *Server) WatchDmChannels(ctx context.Context, req *datapb.WatchDmChannelsRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, req, s.watchDmChannels)
}

func (s *Server) watchDmChannels(req *datapb.WatchDmChannelsRequest) (*commonpb.Status, error) {
	chans := req.GetVchannels()
	if len(chans) == 0 || slices.Contains(chans, "") {
		return nil, status.Error(codes.InvalidArgument, "channel names must be given and not empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range chans {
		if _, ok := s.channels[ch]; ok {
			return catalog.Failure(commonpb.ErrorCode_UnexpectedError, "channel %s is already watched", ch), nil
		}
	}
	for _, ch := range chans {
		s.channels[ch] = struct{}{}
	}
	return catalog.Success(), nil
}

// WatchedChannels returns the channels s watches, sorted.
func (s *Server) WatchedChannels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.channels))
	for ch := range s.channels {
		out = append(out, ch)
	}
	slices.Sort(out)
	return out
}
