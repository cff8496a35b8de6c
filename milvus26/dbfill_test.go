package milvus26

import (
	"context"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// mmFilledAt2616 are the request types of package milvus.proto.milvus whose
// empty DbName Milvus's database interceptor fills
// (internal/proxy/database_interceptor.go, fillDatabase, read at v2.6.16,
// unchanged through v2.6.20 and on the 2.6 branch), restated here: each
// case of its type switch that sets r.DbName. Two more cases,
// OperatePrivilegeRequest and SelectGrantRequest, fill the DbName of the
// request's Entity, which GetDbName does not read: their db_name stays "".
var mmFilledAt2616 = []string{
	"CreateCollectionRequest", "DropCollectionRequest", "TruncateCollectionRequest",
	"HasCollectionRequest", "LoadCollectionRequest", "ReleaseCollectionRequest",
	"DescribeCollectionRequest", "BatchDescribeCollectionRequest", "GetStatisticsRequest",
	"GetCollectionStatisticsRequest", "ShowCollectionsRequest", "AlterCollectionRequest",
	"AlterCollectionFieldRequest", "AddCollectionFunctionRequest", "AlterCollectionFunctionRequest",
	"DropCollectionFunctionRequest", "CreatePartitionRequest", "DropPartitionRequest",
	"HasPartitionRequest", "LoadPartitionsRequest", "ReleasePartitionsRequest",
	"GetPartitionStatisticsRequest", "ShowPartitionsRequest", "GetLoadingProgressRequest",
	"GetLoadStateRequest", "CreateIndexRequest", "DescribeIndexRequest", "DropIndexRequest",
	"AlterIndexRequest", "GetIndexBuildProgressRequest", "GetIndexStateRequest",
	"InsertRequest", "DeleteRequest", "SearchRequest", "HybridSearchRequest", "FlushRequest",
	"QueryRequest", "CreateAliasRequest", "DropAliasRequest", "AlterAliasRequest",
	"DescribeAliasRequest", "ListAliasesRequest", "ImportRequest", "ListImportTasksRequest",
	"RenameCollectionRequest", "TransferReplicaRequest", "GetPersistentSegmentInfoRequest",
	"GetQuerySegmentInfoRequest", "LoadBalanceRequest", "GetReplicasRequest",
	"GetIndexStatisticsRequest", "UpsertRequest", "GetFlushStateRequest",
	"ManualCompactionRequest", "AddCollectionFieldRequest", "RunAnalyzerRequest",
	"OperatePrivilegeV2Request",
}

// TestMilvus26FillsTheDatabasesMilvusFills sends every message type of
// milvus-proto v2.6.18's package milvus.proto.milvus that has a GetDbName
// method, with an empty DbName and the metadata "dbname: db7", through
// each line's set, and expects db_name "db7" for the types Milvus v2.6.16
// fills and "" for every other: the list is the tag's, not a branch's.
func TestMilvus26FillsTheDatabasesMilvusFills(t *testing.T) {
	var withDB []protoreflect.MessageType
	msgs := milvuspb.File_milvus_proto.Messages()
	for i := range msgs.Len() {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(msgs.Get(i).FullName())
		require.NoError(t, err)
		if _, ok := mt.New().Interface().(interface{ GetDbName() string }); ok {
			withDB = append(withDB, mt)
		}
	}
	for _, name := range mmFilledAt2616 {
		assert.True(t, slices.ContainsFunc(withDB, func(mt protoreflect.MessageType) bool {
			return string(mt.Descriptor().Name()) == name
		}), "%s: no such request type with GetDbName in milvus-proto v2.6.18", name)
	}
	require.Greater(t, len(withDB), len(mmFilledAt2616), "some request types with a DbName are not filled")
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("dbname", "db7"))
	for _, line := range []interceptor.Milvus26Line{interceptor.MilvusV2616, interceptor.MilvusV2620, interceptor.MilvusV2621} {
		t.Run(line.String(), func(t *testing.T) {
			m, err := interceptor.NewMilvus26(interceptor.WithNodeID(mmNodeID), interceptor.WithLine(line))
			require.NoError(t, err)
			install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus26: m})
			require.NoError(t, err)
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, install.Register(reg))
			icpt := install.UnaryServerInterceptor()
			ok := func(context.Context, any) (any, error) { return &commonpb.Status{}, nil }
			for _, mt := range withDB {
				method := "/milvus.proto.milvus.MilvusService/" + string(mt.Descriptor().Name())
				_, err := icpt(ctx, mt.New().Interface(), &grpc.UnaryServerInfo{FullMethod: method}, ok)
				require.NoError(t, err)
			}
			dbs := mmTotalDBs(t, reg, line)
			for _, mt := range withDB {
				name := string(mt.Descriptor().Name())
				want := ""
				if slices.Contains(mmFilledAt2616, name) {
					want = "db7"
				}
				assert.Equal(t, want, dbs[name], "db_name of %s", name)
			}
		})
	}
}

// mmTotalDBs gathers the db_name of each function_name's "total" series.
func mmTotalDBs(t *testing.T, reg prometheus.Gatherer, line interceptor.Milvus26Line) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range mmSeries(t, reg, "milvus_proxy_req_count", line, "node_id", "function_name", "status", "cause", "db_name", "collection_name") {
		if l.labels["status"] == "total" {
			out[l.labels["function_name"]] = l.labels["db_name"]
		}
	}
	return out
}
