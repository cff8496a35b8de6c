package proxy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/internal/servertest"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
)

func start(t *testing.T) *grpc.ClientConn {
	t.Helper()
	return servertest.Start(t, proxy.New().NewGRPCServer(servertest.Recovery()))
}

func TestFaults(t *testing.T) {
	conn := start(t)
	for _, svc := range []string{"milvus.proto.milvus.MilvusService", "milvus.proto.proxy.Proxy"} {
		t.Run(svc, func(t *testing.T) { servertest.FaultMatrix(t, conn, protoreflect.FullName(svc)) })
	}
}

// TestCatalog walks the collection and partition store through the proxy:
// what exists succeeds, a duplicate or a missing name is a failing status,
// an empty name InvalidArgument, and the other methods that name a
// collection look it up.
func TestCatalog(t *testing.T) {
	c := milvuspb.NewMilvusServiceClient(start(t))
	const coll = "books"
	servertest.RunSteps(t, []servertest.Step{
		{Name: "create", Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: &commonpb.MsgBase{SourceID: 7}, CollectionName: coll})
		}},
		{Name: "create duplicate", WantErrorCode: commonpb.ErrorCode_UnexpectedError, Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{CollectionName: coll})
		}},
		{Name: "create empty name", WantCode: codes.InvalidArgument, Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{})
		}},
		{Name: "has", Call: func(ctx context.Context) (proto.Message, error) {
			return c.HasCollection(ctx, &milvuspb.HasCollectionRequest{CollectionName: coll})
		}, Check: wantBool(true)},
		{Name: "has missing", Call: func(ctx context.Context) (proto.Message, error) {
			return c.HasCollection(ctx, &milvuspb.HasCollectionRequest{CollectionName: "nope"})
		}, Check: wantBool(false)},
		{Name: "describe", Call: func(ctx context.Context) (proto.Message, error) {
			return c.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: coll})
		}, Check: func(t *testing.T, resp proto.Message) {
			r := resp.(*milvuspb.DescribeCollectionResponse)
			assert.Equal(t, coll, r.GetCollectionName(), "describe = %v", r)
			assert.NotZero(t, r.GetCollectionID(), "describe = %v", r)
		}},
		{Name: "describe missing", WantErrorCode: commonpb.ErrorCode_CollectionNotExists, Call: func(ctx context.Context) (proto.Message, error) {
			return c.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: "nope"})
		}},
		{Name: "create partition", Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{CollectionName: coll, PartitionName: "2024"})
		}},
		{Name: "create partition duplicate", WantErrorCode: commonpb.ErrorCode_UnexpectedError, Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{CollectionName: coll, PartitionName: "2024"})
		}},
		{Name: "create partition empty name", WantCode: codes.InvalidArgument, Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{CollectionName: coll})
		}},
		{Name: "show partitions", Call: func(ctx context.Context) (proto.Message, error) {
			return c.ShowPartitions(ctx, &milvuspb.ShowPartitionsRequest{CollectionName: coll})
		}, Check: func(t *testing.T, resp proto.Message) {
			r := resp.(*milvuspb.ShowPartitionsResponse)
			assert.Equal(t, []string{"2024", "_default"}, r.GetPartitionNames(), "partitions")
			assert.Len(t, r.GetPartitionIDs(), 2, "partition IDs")
		}},
		{Name: "drop partition", Call: func(ctx context.Context) (proto.Message, error) {
			return c.DropPartition(ctx, &milvuspb.DropPartitionRequest{CollectionName: coll, PartitionName: "2024"})
		}},
		{Name: "has dropped partition", Call: func(ctx context.Context) (proto.Message, error) {
			return c.HasPartition(ctx, &milvuspb.HasPartitionRequest{CollectionName: coll, PartitionName: "2024"})
		}, Check: wantBool(false)},
		{Name: "drop missing partition", WantErrorCode: commonpb.ErrorCode_UnexpectedError, Call: func(ctx context.Context) (proto.Message, error) {
			return c.DropPartition(ctx, &milvuspb.DropPartitionRequest{CollectionName: coll, PartitionName: "2024"})
		}},
		{Name: "has partition of missing collection", WantErrorCode: commonpb.ErrorCode_CollectionNotExists, Call: func(ctx context.Context) (proto.Message, error) {
			return c.HasPartition(ctx, &milvuspb.HasPartitionRequest{CollectionName: "nope", PartitionName: "2024"})
		}},
		{Name: "search", Call: func(ctx context.Context) (proto.Message, error) {
			return c.Search(ctx, &milvuspb.SearchRequest{CollectionName: coll})
		}},
		{Name: "search missing", WantErrorCode: commonpb.ErrorCode_CollectionNotExists, Call: func(ctx context.Context) (proto.Message, error) {
			return c.Search(ctx, &milvuspb.SearchRequest{CollectionName: "nope"})
		}},
		{Name: "search empty name", WantCode: codes.InvalidArgument, Call: func(ctx context.Context) (proto.Message, error) {
			return c.Search(ctx, &milvuspb.SearchRequest{})
		}},
		{Name: "drop", Call: func(ctx context.Context) (proto.Message, error) {
			return c.DropCollection(ctx, &milvuspb.DropCollectionRequest{CollectionName: coll})
		}},
		{Name: "drop missing", WantErrorCode: commonpb.ErrorCode_CollectionNotExists, Call: func(ctx context.Context) (proto.Message, error) {
			return c.DropCollection(ctx, &milvuspb.DropCollectionRequest{CollectionName: coll})
		}},
		{Name: "show collections", Call: func(ctx context.Context) (proto.Message, error) {
			return c.ShowCollections(ctx, &milvuspb.ShowCollectionsRequest{})
		}, Check: func(t *testing.T, resp proto.Message) {
			assert.Empty(t, resp.(*milvuspb.ShowCollectionsResponse).GetCollectionNames(), "collections")
		}},
		{Name: "dummy", Call: func(ctx context.Context) (proto.Message, error) {
			return c.Dummy(ctx, &milvuspb.DummyRequest{RequestType: "ping"})
		}, Check: func(t *testing.T, resp proto.Message) {
			assert.Equal(t, "dummy ping", resp.(*milvuspb.DummyResponse).GetResponse(), "dummy")
		}},
	})
}

func TestUnknownFault(t *testing.T) {
	c := milvuspb.NewMilvusServiceClient(start(t))
	ctx := metadata.AppendToOutgoingContext(t.Context(), fault.MetadataKey, "explode")
	_, err := c.Dummy(ctx, &milvuspb.DummyRequest{})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "error %v", err)
}

func TestReflection(t *testing.T) {
	stream, err := rpb.NewServerReflectionClient(start(t)).ServerReflectionInfo(t.Context())
	require.NoError(t, err)
	require.NoError(t, stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}))
	resp, err := stream.Recv()
	require.NoError(t, err)
	var got []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	for _, want := range []string{"milvus.proto.milvus.MilvusService", "milvus.proto.proxy.Proxy"} {
		assert.Contains(t, got, want, "services listed by reflection")
	}
	assert.NoError(t, stream.CloseSend())
}

func wantBool(want bool) func(*testing.T, proto.Message) {
	return func(t *testing.T, resp proto.Message) {
		assert.Equal(t, want, resp.(*milvuspb.BoolResponse).GetValue(), "value")
	}
}
