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

const service = "milvus.proto.rootcoord.RootCoord"

func TestFaults(t *testing.T) {
	conn := servertest.Start(t, rootcoord.New().NewGRPCServer(servertest.Recovery()))
	servertest.FaultMatrix(t, conn, service)
}

func TestMethodNames(t *testing.T) {
	want := []string{
		"CreateCollection", "DropCollection", "HasCollection", "DescribeCollection", "ShowCollections",
		"CreatePartition", "DropPartition", "HasPartition", "ShowPartitions",
		"CreateIndex", "DescribeIndex", "DropIndex", "DescribeSegment", "ShowSegments",
	}
	var got []string
	for _, m := range rootcoord.New().NewGRPCServer().GetServiceInfo()[service].Methods {
		got = append(got, m.Name)
	}
	assert.ElementsMatch(t, want, got, "methods")
}

func TestCatalogScenario(t *testing.T) {
	c := rootcoordpb.NewRootCoordClient(servertest.Start(t, rootcoord.New().NewGRPCServer(servertest.Recovery())))
	const coll = "movies"
	base := &commonpb.MsgBase{MsgType: commonpb.MsgType_CreateCollection, MsgID: 1, SourceID: 42}
	var collID int64
	var partIDs []int64
	servertest.RunSteps(t, []servertest.Step{
		{Name: "create", Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: coll})
		}},
		{Name: "create duplicate", WantErrorCode: commonpb.ErrorCode_UnexpectedError, Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: coll})
		}},
		{Name: "create without name", WantCode: codes.InvalidArgument, Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base})
		}},
		{Name: "has without base", Call: func(ctx context.Context) (proto.Message, error) {
			return c.HasCollection(ctx, &milvuspb.HasCollectionRequest{CollectionName: coll})
		}, Check: func(t *testing.T, resp proto.Message) {
			assert.True(t, resp.(*milvuspb.BoolResponse).GetValue(), "collection not found")
		}},
		{Name: "describe", Call: func(ctx context.Context) (proto.Message, error) {
			return c.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{Base: base, CollectionName: coll})
		}, Check: func(t *testing.T, resp proto.Message) {
			collID = resp.(*milvuspb.DescribeCollectionResponse).GetCollectionID()
		}},
		{Name: "describe missing", WantErrorCode: commonpb.ErrorCode_CollectionNotExists, Call: func(ctx context.Context) (proto.Message, error) {
			return c.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{Base: base, CollectionName: "nope"})
		}},
		{Name: "create partition", Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{Base: base, CollectionName: coll, PartitionName: "p1"})
		}},
		{Name: "create partition duplicate", WantErrorCode: commonpb.ErrorCode_UnexpectedError, Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{Base: base, CollectionName: coll, PartitionName: "p1"})
		}},
		{Name: "show partitions", Call: func(ctx context.Context) (proto.Message, error) {
			return c.ShowPartitions(ctx, &milvuspb.ShowPartitionsRequest{Base: base, CollectionName: coll})
		}, Check: func(t *testing.T, resp proto.Message) {
			partIDs = resp.(*milvuspb.ShowPartitionsResponse).GetPartitionIDs()
			assert.Len(t, partIDs, 2, "partition IDs")
		}},
		{Name: "show segments", Call: func(ctx context.Context) (proto.Message, error) {
			return c.ShowSegments(ctx, &milvuspb.ShowSegmentsRequest{Base: base, CollectionID: collID, PartitionID: partIDs[0]})
		}},
		{Name: "describe unknown segment", WantErrorCode: commonpb.ErrorCode_UnexpectedError, Call: func(ctx context.Context) (proto.Message, error) {
			return c.DescribeSegment(ctx, &milvuspb.DescribeSegmentRequest{Base: base, CollectionID: collID, SegmentID: 99})
		}},
		{Name: "create index", Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateIndex(ctx, &milvuspb.CreateIndexRequest{Base: base, CollectionName: coll, FieldName: "vec"})
		}},
		{Name: "drop index", Call: func(ctx context.Context) (proto.Message, error) {
			return c.DropIndex(ctx, &milvuspb.DropIndexRequest{Base: base, CollectionName: coll, FieldName: "vec"})
		}},
		{Name: "describe dropped index", WantErrorCode: commonpb.ErrorCode_IndexNotExist, Call: func(ctx context.Context) (proto.Message, error) {
			return c.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{Base: base, CollectionName: coll})
		}},
		{Name: "drop partition", Call: func(ctx context.Context) (proto.Message, error) {
			return c.DropPartition(ctx, &milvuspb.DropPartitionRequest{Base: base, CollectionName: coll, PartitionName: "p1"})
		}},
		{Name: "has dropped partition", Call: func(ctx context.Context) (proto.Message, error) {
			return c.HasPartition(ctx, &milvuspb.HasPartitionRequest{Base: base, CollectionName: coll, PartitionName: "p1"})
		}, Check: func(t *testing.T, resp proto.Message) {
			assert.False(t, resp.(*milvuspb.BoolResponse).GetValue(), "dropped partition still found")
		}},
		{Name: "drop", Call: func(ctx context.Context) (proto.Message, error) {
			return c.DropCollection(ctx, &milvuspb.DropCollectionRequest{Base: base, CollectionName: coll})
		}},
		{Name: "show collections", Call: func(ctx context.Context) (proto.Message, error) {
			return c.ShowCollections(ctx, &milvuspb.ShowCollectionsRequest{Base: base})
		}, Check: func(t *testing.T, resp proto.Message) {
			assert.Empty(t, resp.(*milvuspb.ShowCollectionsResponse).GetCollectionNames(), "collections")
		}},
	})
}
