package proxy_test

import (
	"context"
	"slices"
	"testing"

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
		slices.Sort(got)
		methods = slices.Sorted(slices.Values(methods))
		if !slices.Equal(got, methods) {
			t.Errorf("%s methods = %v, want %v", svc, got, methods)
		}
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
			if r := resp.(*milvuspb.DescribeCollectionResponse); r.GetCollectionName() != coll || r.GetShardsNum() != 2 || r.GetCollectionID() == 0 {
				t.Errorf("describe = %v", r)
			}
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
			if got := resp.(*milvuspb.ShowPartitionsResponse).GetPartitionNames(); !slices.Equal(got, []string{"_default", "2024"}) {
				t.Errorf("partitions = %v", got)
			}
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
			if d := resp.(*milvuspb.DescribeIndexResponse).GetIndexDescriptions(); len(d) != 1 || d[0].GetFieldName() != "embedding" {
				t.Errorf("index descriptions = %v", d)
			}
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
			if len(infos) != 1 || infos[0].GetNumRows() != 100 || infos[0].GetState() != commonpb.SegmentState_Flushed {
				t.Errorf("segments = %v", infos)
			}
		}},
		{Name: "statistics", Call: func(ctx context.Context) (proto.Message, error) {
			return c.GetCollectionStatistics(ctx, &milvuspb.GetCollectionStatisticsRequest{CollectionName: coll})
		}, Check: func(t *testing.T, resp proto.Message) {
			if s := resp.(*milvuspb.GetCollectionStatisticsResponse).GetStats(); len(s) != 1 || s[0].GetValue() != "100" {
				t.Errorf("stats = %v", s)
			}
		}},
		{Name: "drop", Call: func(ctx context.Context) (proto.Message, error) {
			return c.DropCollection(ctx, &milvuspb.DropCollectionRequest{CollectionName: coll})
		}},
		{Name: "dummy", Call: func(ctx context.Context) (proto.Message, error) {
			return c.Dummy(ctx, &milvuspb.DummyRequest{RequestType: "ping"})
		}, Check: func(t *testing.T, resp proto.Message) {
			if r := resp.(*milvuspb.DummyResponse).GetResponse(); r != "dummy ping" {
				t.Errorf("dummy = %q", r)
			}
		}},
	})
}

func TestProxyService(t *testing.T) {
	c := proxypb.NewProxyClient(start(t))
	servertest.RunSteps(t, []servertest.Step{
		{Name: "component states", Call: func(ctx context.Context) (proto.Message, error) {
			return c.GetComponentStates(ctx, &internalpb.GetComponentStatesRequest{})
		}, Check: func(t *testing.T, resp proto.Message) {
			if s := resp.(*internalpb.ComponentStates).GetState(); s.GetStateCode() != internalpb.StateCode_Healthy || s.GetRole() != proxy.Role {
				t.Errorf("state = %v", s)
			}
		}},
		{Name: "dd channel", Call: func(ctx context.Context) (proto.Message, error) {
			return c.GetDdChannel(ctx, &internalpb.GetDdChannelRequest{})
		}, Check: func(t *testing.T, resp proto.Message) {
			if v := resp.(*milvuspb.StringResponse).GetValue(); v != proxy.DdChannel {
				t.Errorf("channel = %q", v)
			}
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
	if _, err := c.Dummy(ctx, &milvuspb.DummyRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("error = %v, want code %v", err, codes.InvalidArgument)
	}
}

func TestReflection(t *testing.T) {
	stream, err := rpb.NewServerReflectionClient(start(t)).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	for _, want := range []string{"milvus.proto.milvus.MilvusService", "milvus.proto.proxy.Proxy"} {
		if !slices.Contains(got, want) {
			t.Errorf("reflection lists %v, want %s among them", got, want)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Error(err)
	}
}

func wantBool(want bool) func(*testing.T, proto.Message) {
	return func(t *testing.T, resp proto.Message) {
		if got := resp.(*milvuspb.BoolResponse).GetValue(); got != want {
			t.Errorf("value = %t, want %t", got, want)
		}
	}
}
