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

// step is one call of a scenario and the outcome it must have.
type step struct {
	name     string
	call     func(ctx context.Context) (proto.Message, error)
	wantCode codes.Code         // gRPC code of the error
	wantEC   commonpb.ErrorCode // error_code of the Milvus status
	check    func(t *testing.T, resp proto.Message)
}

func runSteps(t *testing.T, steps []step) {
	t.Helper()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			resp, err := s.call(t.Context())
			if status.Code(err) != s.wantCode {
				t.Fatalf("error = %v, want code %v", err, s.wantCode)
			}
			if err != nil {
				return
			}
			if st, ok := servertest.StatusOf(resp); ok && st.GetErrorCode() != s.wantEC {
				t.Fatalf("status = %v, want error_code %v", st, s.wantEC)
			}
			if s.check != nil {
				s.check(t, resp)
			}
		})
	}
}

func TestCatalogScenario(t *testing.T) {
	c := milvuspb.NewMilvusServiceClient(start(t))
	const coll = "books"
	base := &commonpb.MsgBase{MsgType: commonpb.MsgType_CreateCollection, SourceID: 7}
	runSteps(t, []step{
		{name: "create", call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: coll, ShardsNum: 2})
		}},
		{name: "create duplicate", wantEC: commonpb.ErrorCode_UnexpectedError, call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{CollectionName: coll})
		}},
		{name: "create empty name", wantCode: codes.InvalidArgument, call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{})
		}},
		{name: "has", call: func(ctx context.Context) (proto.Message, error) {
			return c.HasCollection(ctx, &milvuspb.HasCollectionRequest{CollectionName: coll})
		}, check: wantBool(true)},
		{name: "has missing", call: func(ctx context.Context) (proto.Message, error) {
			return c.HasCollection(ctx, &milvuspb.HasCollectionRequest{CollectionName: "nope"})
		}, check: wantBool(false)},
		{name: "describe", call: func(ctx context.Context) (proto.Message, error) {
			return c.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: coll})
		}, check: func(t *testing.T, resp proto.Message) {
			if r := resp.(*milvuspb.DescribeCollectionResponse); r.GetCollectionName() != coll || r.GetShardsNum() != 2 || r.GetCollectionID() == 0 {
				t.Errorf("describe = %v", r)
			}
		}},
		{name: "describe missing", wantEC: commonpb.ErrorCode_CollectionNotExists, call: func(ctx context.Context) (proto.Message, error) {
			return c.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: "nope"})
		}},
		{name: "drop missing", wantEC: commonpb.ErrorCode_CollectionNotExists, call: func(ctx context.Context) (proto.Message, error) {
			return c.DropCollection(ctx, &milvuspb.DropCollectionRequest{CollectionName: "nope"})
		}},
		{name: "create partition", call: func(ctx context.Context) (proto.Message, error) {
			return c.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{CollectionName: coll, PartitionName: "2024"})
		}},
		{name: "create partition empty name", wantCode: codes.InvalidArgument, call: func(ctx context.Context) (proto.Message, error) {
			return c.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{CollectionName: coll})
		}},
		{name: "has partition of missing collection", wantEC: commonpb.ErrorCode_CollectionNotExists, call: func(ctx context.Context) (proto.Message, error) {
			return c.HasPartition(ctx, &milvuspb.HasPartitionRequest{CollectionName: "nope", PartitionName: "2024"})
		}},
		{name: "show partitions", call: func(ctx context.Context) (proto.Message, error) {
			return c.ShowPartitions(ctx, &milvuspb.ShowPartitionsRequest{CollectionName: coll})
		}, check: func(t *testing.T, resp proto.Message) {
			if got := resp.(*milvuspb.ShowPartitionsResponse).GetPartitionNames(); !slices.Equal(got, []string{"_default", "2024"}) {
				t.Errorf("partitions = %v", got)
			}
		}},
		{name: "drop default partition", wantEC: commonpb.ErrorCode_UnexpectedError, call: func(ctx context.Context) (proto.Message, error) {
			return c.DropPartition(ctx, &milvuspb.DropPartitionRequest{CollectionName: coll, PartitionName: "_default"})
		}},
		{name: "create index", call: func(ctx context.Context) (proto.Message, error) {
			return c.CreateIndex(ctx, &milvuspb.CreateIndexRequest{CollectionName: coll, FieldName: "embedding", IndexName: "ivf",
				ExtraParams: []*commonpb.KeyValuePair{{Key: "index_type", Value: "IVF_FLAT"}}})
		}},
		{name: "describe index", call: func(ctx context.Context) (proto.Message, error) {
			return c.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{CollectionName: coll, IndexName: "ivf"})
		}, check: func(t *testing.T, resp proto.Message) {
			if d := resp.(*milvuspb.DescribeIndexResponse).GetIndexDescriptions(); len(d) != 1 || d[0].GetFieldName() != "embedding" {
				t.Errorf("index descriptions = %v", d)
			}
		}},
		{name: "drop missing index", wantEC: commonpb.ErrorCode_IndexNotExist, call: func(ctx context.Context) (proto.Message, error) {
			return c.DropIndex(ctx, &milvuspb.DropIndexRequest{CollectionName: coll, IndexName: "hnsw"})
		}},
		{name: "insert", call: func(ctx context.Context) (proto.Message, error) {
			return c.Insert(ctx, &milvuspb.InsertRequest{CollectionName: coll, NumRows: 100})
		}},
		{name: "search before load", wantEC: commonpb.ErrorCode_UnexpectedError, call: func(ctx context.Context) (proto.Message, error) {
			return c.Search(ctx, &milvuspb.SearchRequest{CollectionName: coll, Nq: 1})
		}},
		{name: "load", call: func(ctx context.Context) (proto.Message, error) {
			return c.LoadCollection(ctx, &milvuspb.LoadCollectionRequest{CollectionName: coll})
		}},
		{name: "search", call: func(ctx context.Context) (proto.Message, error) {
			return c.Search(ctx, &milvuspb.SearchRequest{CollectionName: coll, Nq: 2})
		}},
		{name: "flush", call: func(ctx context.Context) (proto.Message, error) {
			return c.Flush(ctx, &milvuspb.FlushRequest{CollectionNames: []string{coll}})
		}},
		{name: "persistent segments", call: func(ctx context.Context) (proto.Message, error) {
			return c.GetPersistentSegmentInfo(ctx, &milvuspb.GetPersistentSegmentInfoRequest{CollectionName: coll})
		}, check: func(t *testing.T, resp proto.Message) {
			infos := resp.(*milvuspb.GetPersistentSegmentInfoResponse).GetInfos()
			if len(infos) != 1 || infos[0].GetNumRows() != 100 || infos[0].GetState() != commonpb.SegmentState_Flushed {
				t.Errorf("segments = %v", infos)
			}
		}},
		{name: "statistics", call: func(ctx context.Context) (proto.Message, error) {
			return c.GetCollectionStatistics(ctx, &milvuspb.GetCollectionStatisticsRequest{CollectionName: coll})
		}, check: func(t *testing.T, resp proto.Message) {
			if s := resp.(*milvuspb.GetCollectionStatisticsResponse).GetStats(); len(s) != 1 || s[0].GetValue() != "100" {
				t.Errorf("stats = %v", s)
			}
		}},
		{name: "drop", call: func(ctx context.Context) (proto.Message, error) {
			return c.DropCollection(ctx, &milvuspb.DropCollectionRequest{CollectionName: coll})
		}},
		{name: "dummy", call: func(ctx context.Context) (proto.Message, error) {
			return c.Dummy(ctx, &milvuspb.DummyRequest{RequestType: "ping"})
		}, check: func(t *testing.T, resp proto.Message) {
			if r := resp.(*milvuspb.DummyResponse).GetResponse(); r != "dummy ping" {
				t.Errorf("dummy = %q", r)
			}
		}},
	})
}

func TestProxyService(t *testing.T) {
	c := proxypb.NewProxyClient(start(t))
	runSteps(t, []step{
		{name: "component states", call: func(ctx context.Context) (proto.Message, error) {
			return c.GetComponentStates(ctx, &internalpb.GetComponentStatesRequest{})
		}, check: func(t *testing.T, resp proto.Message) {
			if s := resp.(*internalpb.ComponentStates).GetState(); s.GetStateCode() != internalpb.StateCode_Healthy || s.GetRole() != proxy.Role {
				t.Errorf("state = %v", s)
			}
		}},
		{name: "dd channel", call: func(ctx context.Context) (proto.Message, error) {
			return c.GetDdChannel(ctx, &internalpb.GetDdChannelRequest{})
		}, check: func(t *testing.T, resp proto.Message) {
			if v := resp.(*milvuspb.StringResponse).GetValue(); v != proxy.DdChannel {
				t.Errorf("channel = %q", v)
			}
		}},
		{name: "invalidate cache", call: func(ctx context.Context) (proto.Message, error) {
			return c.InvalidateCollectionMetaCache(ctx, &proxypb.InvalidateCollMetaCacheRequest{CollectionName: "any"})
		}},
		{name: "invalidate cache empty name", wantCode: codes.InvalidArgument, call: func(ctx context.Context) (proto.Message, error) {
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
