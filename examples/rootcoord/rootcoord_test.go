package rootcoord_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/grpcmetrics/grpcmetrics/examples/internal/servertest"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
)

func TestFaults(t *testing.T) {
	conn := servertest.Start(t, rootcoord.New().NewGRPCServer(servertest.Recovery()))
	servertest.FaultMatrix(t, conn, "milvus.proto.rootcoord.RootCoord")
}

// TestRootCoord checks what the root coordinator adds to the store it
// shares with the proxy (tested there): collections by name, and no
// segments.
func TestRootCoord(t *testing.T) {
	c := rootcoordpb.NewRootCoordClient(servertest.Start(t, rootcoord.New().NewGRPCServer(servertest.Recovery())))
	base := &commonpb.MsgBase{SourceID: 42}
	servertest.RunSteps(t, []servertest.Step{
		{Name: "create", Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: "movies"})
		}},
		{Name: "create duplicate", WantErrorCode: commonpb.ErrorCode_UnexpectedError, Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: "movies"})
		}},
		{Name: "create without name", WantCode: codes.InvalidArgument, Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base})
		}},
		{Name: "show collections", Call: func(ctx context.Context) (proto.Message, error) {
			return c.ShowCollections(ctx, &milvuspb.ShowCollectionsRequest{Base: base})
		}, Check: func(t *testing.T, resp proto.Message) {
			assert.Equal(t, []string{"movies"}, resp.(*milvuspb.ShowCollectionsResponse).GetCollectionNames(), "collections")
		}},
		{Name: "create index of missing collection", WantErrorCode: commonpb.ErrorCode_CollectionNotExists, Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateIndex(ctx, &milvuspb.CreateIndexRequest{Base: base, CollectionName: "nope", FieldName: "vec"})
		}},
		{Name: "show segments", Call: func(ctx context.Context) (proto.Message, error) {
			return c.ShowSegments(ctx, &milvuspb.ShowSegmentsRequest{Base: base, CollectionID: 1})
		}},
		{Name: "describe segment", WantErrorCode: commonpb.ErrorCode_UnexpectedError, Call: func(ctx context.Context) (proto.Message, error) {
			return c.DescribeSegment(ctx, &milvuspb.DescribeSegmentRequest{Base: base, CollectionID: 1, SegmentID: 99})
		}},
	})
}
