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
	"github.com/grpcmetrics/grpcmetrics/examples/proto/internalpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/proxypb"
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

func TestMethodNames(t *testing.T) {
	want := map[string][]string{
		"milvus.proto.milvus.MilvusService": {
			"CreateCollection", "DropCollection", "HasCollection", "LoadCollection",
			"ReleaseCollection", "DescribeCollection", "GetCollectionStatistics", "ShowCollections",
			"CreatePartition", "DropPartition", "HasPartition", "LoadPartitions",
			"ReleasePartitions", "GetPartitionStatistics", "ShowPartitions", "CreateIndex", "DescribeIndex",
			"GetIndexState", "GetIndexBuildProgress", "DropIndex", "Insert", "Search", "Flush", "Query",
			"GetPersistentSegmentInfo", "GetQuerySegmentInfo", "Dummy", "RegisterLink",
		},
		"milvus.proto.proxy.Proxy": {
			"GetComponentStates", "GetStatisticsChannel", "InvalidateCollectionMetaCache",
			"GetDdChannel", "ReleaseDQLMessageStream",
		},
	}
	srv := proxy.New().NewGRPCServer()
	info := srv.GetServiceInfo()
	for svc, methods := range want {
		var got []string
		for _, m := range info[svc].Methods {
			got = append(got, m.Name)
		}
		assert.ElementsMatch(t, methods, got, "%s methods", svc)
	}
}

func TestCatalogScenario(t *testing.T) {
	c := milvuspb.NewMilvusServiceClient(start(t))
	const coll = "books"
	base := &commonpb.MsgBase{MsgType: commonpb.MsgType_CreateCollection, SourceID: 7}
	servertest.RunSteps(t, []servertest.Step{
		{Name: "create", Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: coll, ShardsNum: 2})
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
			assert.Equal(t, int32(2), r.GetShardsNum(), "describe = %v", r)
			assert.NotZero(t, r.GetCollectionID(), "describe = %v", r)
		}},
		{Name: "describe missing", WantErrorCode: commonpb.ErrorCode_CollectionNotExists, Call: func(ctx context.Context) (proto.Message, error) {
			return c.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: "nope"})
		}},
		{Name: "drop missing", WantErrorCode: commonpb.ErrorCode_CollectionNotExists, Call: func(ctx context.Context) (proto.Message, error) {
			return c.DropCollection(ctx, &milvuspb.DropCollectionRequest{CollectionName: "nope"})
		}},
		{Name: "create partition", Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{CollectionName: coll, PartitionName: "2024"})
		}},
		{Name: "create partition empty name", WantCode: codes.InvalidArgument, Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{CollectionName: coll})
		}},
		{Name: "has partition of missing collection", WantErrorCode: commonpb.ErrorCode_CollectionNotExists, Call: func(ctx context.Context) (proto.Message, error) {
			return c.HasPartition(ctx, &milvuspb.HasPartitionRequest{CollectionName: "nope", PartitionName: "2024"})
		}},
		{Name: "show partitions", Call: func(ctx context.Context) (proto.Message, error) {
			return c.ShowPartitions(ctx, &milvuspb.ShowPartitionsRequest{CollectionName: coll})
		}, Check: func(t *testing.T, resp proto.Message) {
			assert.Equal(t, []string{"_default", "2024"}, resp.(*milvuspb.ShowPartitionsResponse).GetPartitionNames(), "partitions")
		}},
		{Name: "drop default partition", WantErrorCode: commonpb.ErrorCode_UnexpectedError, Call: func(ctx context.Context) (proto.Message, error) {
			return c.DropPartition(ctx, &milvuspb.DropPartitionRequest{CollectionName: coll, PartitionName: "_default"})
		}},
		{Name: "create index", Call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateIndex(ctx, &milvuspb.CreateIndexRequest{CollectionName: coll, FieldName: "embedding", IndexName: "ivf",
				ExtraParams: []*commonpb.KeyValuePair{{Key: "index_type", Value: "IVF_FLAT"}}})
		}},
		{Name: "describe index", Call: func(ctx context.Context) (proto.Message, error) {
			return c.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{CollectionName: coll, IndexName: "ivf"})
		}, Check: func(t *testing.T, resp proto.Message) {
			d := resp.(*milvuspb.DescribeIndexResponse).GetIndexDescriptions()
			require.Len(t, d, 1, "index descriptions")
			assert.Equal(t, "embedding", d[0].GetFieldName(), "index descriptions = %v", d)
		}},
		{Name: "drop missing index", WantErrorCode: commonpb.ErrorCode_IndexNotExist, Call: func(ctx context.Context) (proto.Message, error) {
			return c.DropIndex(ctx, &milvuspb.DropIndexRequest{CollectionName: coll, IndexName: "hnsw"})
		}},
		{Name: "insert", Call: func(ctx context.Context) (proto.Message, error) {
			return c.Insert(ctx, &milvuspb.InsertRequest{CollectionName: coll, NumRows: 100})
		}},
		{Name: "search before load", WantErrorCode: commonpb.ErrorCode_UnexpectedError, Call: func(ctx context.Context) (proto.Message, error) {
			return c.Search(ctx, &milvuspb.SearchRequest{CollectionName: coll, Nq: 1})
		}},
		{Name: "load", Call: func(ctx context.Context) (proto.Message, error) {
			return c.LoadCollection(ctx, &milvuspb.LoadCollectionRequest{CollectionName: coll})
		}},
		{Name: "search", Call: func(ctx context.Context) (proto.Message, error) {
			return c.Search(ctx, &milvuspb.SearchRequest{CollectionName: coll, Nq: 2})
		}},
		{Name: "flush", Call: func(ctx context.Context) (proto.Message, error) {
			return c.Flush(ctx, &milvuspb.FlushRequest{CollectionNames: []string{coll}})
		}},
		{Name: "persistent segments", Call: func(ctx context.Context) (proto.Message, error) {
			return c.GetPersistentSegmentInfo(ctx, &milvuspb.GetPersistentSegmentInfoRequest{CollectionName: coll})
		}, Check: func(t *testing.T, resp proto.Message) {
			infos := resp.(*milvuspb.GetPersistentSegmentInfoResponse).GetInfos()
			require.Len(t, infos, 1, "segments")
			assert.Equal(t, int64(100), infos[0].GetNumRows(), "segments = %v", infos)
			assert.Equal(t, commonpb.SegmentState_Flushed, infos[0].GetState(), "segments = %v", infos)
		}},
		{Name: "statistics", Call: func(ctx context.Context) (proto.Message, error) {
			return c.GetCollectionStatistics(ctx, &milvuspb.GetCollectionStatisticsRequest{CollectionName: coll})
		}, Check: func(t *testing.T, resp proto.Message) {
			s := resp.(*milvuspb.GetCollectionStatisticsResponse).GetStats()
			require.Len(t, s, 1, "stats")
			assert.Equal(t, "100", s[0].GetValue(), "stats = %v", s)
		}},
		{Name: "drop", Call: func(ctx context.Context) (proto.Message, error) {
			return c.DropCollection(ctx, &milvuspb.DropCollectionRequest{CollectionName: coll})
		}},
		{Name: "dummy", Call: func(ctx context.Context) (proto.Message, error) {
			return c.Dummy(ctx, &milvuspb.DummyRequest{RequestType: "ping"})
		}, Check: func(t *testing.T, resp proto.Message) {
			assert.Equal(t, "dummy ping", resp.(*milvuspb.DummyResponse).GetResponse(), "dummy")
		}},
	})
}

func TestProxyService(t *testing.T) {
	c := proxypb.NewProxyClient(start(t))
	servertest.RunSteps(t, []servertest.Step{
		{Name: "component states", Call: func(ctx context.Context) (proto.Message, error) {
			return c.GetComponentStates(ctx, &internalpb.GetComponentStatesRequest{})
		}, Check: func(t *testing.T, resp proto.Message) {
			s := resp.(*internalpb.ComponentStates).GetState()
			assert.Equal(t, internalpb.StateCode_Healthy, s.GetStateCode(), "state = %v", s)
			assert.Equal(t, proxy.Role, s.GetRole(), "state = %v", s)
		}},
		{Name: "dd channel", Call: func(ctx context.Context) (proto.Message, error) {
			return c.GetDdChannel(ctx, &internalpb.GetDdChannelRequest{})
		}, Check: func(t *testing.T, resp proto.Message) {
			assert.Equal(t, proxy.DdChannel, resp.(*milvuspb.StringResponse).GetValue(), "channel")
		}},
		{Name: "invalidate cache", Call: func(ctx context.Context) (proto.Message, error) {
			return c.InvalidateCollectionMetaCache(ctx, &proxypb.InvalidateCollMetaCacheRequest{CollectionName: "any"})
		}},
		{Name: "invalidate cache empty name", WantCode: codes.InvalidArgument, Call: func(ctx context.Context) (proto.Message, error) {
			return c.InvalidateCollectionMetaCache(ctx, &proxypb.InvalidateCollMetaCacheRequest{})
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
