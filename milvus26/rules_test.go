package milvus26

import (
	"context"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// mmNodeID is the node ID the tests give the set; Milvus writes its own
// (paramtable.GetNodeID) in decimal.
const mmNodeID = 7

// mmInstall builds a Milvus 2.6 set with opts, registers it on a registry
// of its own, and serves MilvusService with answer behind a recovery
// interceptor (outermost) and the set.
func mmInstall(t *testing.T, answer mmAnswer, opts ...interceptor.Milvus26Option) (*grpc.ClientConn, *prometheus.Registry, *interceptor.Milvus26) {
	t.Helper()
	m, err := interceptor.NewMilvus26(append([]interceptor.Milvus26Option{interceptor.WithNodeID(mmNodeID), interceptor.WithReqLatency()}, opts...)...)
	require.NoError(t, err)
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus26: m})
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, install.Register(reg))
	recovered := recovery.WithRecoveryHandler(func(p any) error { return status.Errorf(codes.Internal, "panic: %v", p) })
	srv := grpc.NewServer(append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(recovered))}, install.ServerOptions()...)...)
	return mmServe(t, srv, mmServiceDesc(t, answer), install), reg, m
}

// mmReqCounts gathers milvus_proxy_req_count as "function status db/collection"
// -> value, and requires every series to carry node_id mmNodeID.
func mmReqCounts(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "milvus_proxy_req_count" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			require.Equal(t, "7", l["node_id"], "node_id of %v", l)
			out[l["function_name"]+" "+l["status"]+" "+l["db_name"]+"/"+l["collection_name"]] = m.GetCounter().GetValue()
		}
	}
	return out
}

// mmLatencyCounts gathers the number of observations of
// milvus_proxy_req_latency by function_name.
func mmLatencyCounts(t *testing.T, reg prometheus.Gatherer) map[string]uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "milvus_proxy_req_latency" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "function_name" {
					out[lp.GetValue()] += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return out
}

// Values of commonpb.Status's error_code, whose type milvus-proto marks
// deprecated (Milvus reads it still, beside code).
const (
	mmSuccess         int32 = 0  // commonpb.ErrorCode_Success
	mmUnexpectedError int32 = 1  // commonpb.ErrorCode_UnexpectedError
	mmRateLimit       int32 = 49 // commonpb.ErrorCode_RateLimit
)

// mmReply answers every call with its real response type and a status of
// errorCode and code (the response itself where it is a commonpb.Status).
func mmReply(errorCode, code int32) mmAnswer {
	return func(_ context.Context, _ string, _, resp proto.Message) (proto.Message, error) {
		mmSetStatus(resp, errorCode, code)
		return resp, nil
	}
}

// TestMilvus26EqualToMilvusRules calls MilvusService over the real v2.6
// types with every outcome and every way of naming a database, and expects
// milvus_proxy_req_count as Milvus v2.6.16 fills it. Milvus's rules, in our
// words (internal/distributed/proxy/request_interceptor.go,
// UnaryRequestStatsInterceptor and ParseMetricLabel;
// internal/proxy/database_interceptor.go; pkg/util/merr):
//
//   - R1: function_name is the full method's last "/" element; db_name and
//     collection_name are the request's GetDbName and GetCollectionName,
//     "" where it has none; node_id is the node's ID in decimal.
//   - R2: status="total" is counted before the handler runs; after it,
//     exactly one of the four below.
//   - R3: "rejected" when the handler chain returned an error (in Milvus
//     only an interceptor returns one).
//   - R4: otherwise the status is resp.GetStatus(), or resp itself when it
//     is a commonpb.Status. It is OK when its error_code is Success and
//     its code is 0; a nil status is OK. A status that is not OK counts
//     "retry" if its code is 8 (rate limit) or 109 (collection schema
//     mismatch), whatever its retriable flag says, and "fail" otherwise.
//   - R5: "success" otherwise.
//   - R6: Milvus's database interceptor runs first and, for the request
//     types it lists (Search among them), fills an empty DbName with the
//     first value of the incoming metadata key "dbname", or "default"
//     without one; other types (DropDatabase, say) keep what was sent.
func TestMilvus26EqualToMilvusRules(t *testing.T) {
	const full = "/" + mmServiceName + "/"
	ok := mmReply(mmSuccess, 0)
	tests := []struct {
		name   string
		method string
		req    proto.Message
		resp   proto.Message
		md     metadata.MD
		answer mmAnswer
		code   codes.Code // what the client gets
		want   map[string]float64
	}{
		{
			name: "success", method: "Search", answer: ok,
			req:  &milvuspb.SearchRequest{DbName: "db1", CollectionName: "c1"},
			resp: &milvuspb.SearchResults{},
			// R1, R2, R5; an explicit db name is kept (R6 fills only empty ones).
			want: map[string]float64{"Search total db1/c1": 1, "Search success db1/c1": 1},
		},
		{
			name: "explicit db name beats the metadata", method: "Search", answer: ok,
			req:  &milvuspb.SearchRequest{DbName: "db1", CollectionName: "c1"},
			resp: &milvuspb.SearchResults{}, md: metadata.Pairs("dbname", "db7"),
			// R6: the DbName is not empty, so the metadata is not read.
			want: map[string]float64{"Search total db1/c1": 1, "Search success db1/c1": 1},
		},
		{
			name: "fail by error_code", method: "Query", answer: mmReply(mmUnexpectedError, 0),
			req:  &milvuspb.QueryRequest{DbName: "db1", CollectionName: "c1"},
			resp: &milvuspb.QueryResults{},
			// R4: error_code is not Success, code 0 is not retryable.
			want: map[string]float64{"Query total db1/c1": 1, "Query fail db1/c1": 1},
		},
		{
			name: "fail by code", method: "Query", answer: mmReply(mmSuccess, 100),
			req:  &milvuspb.QueryRequest{DbName: "db1", CollectionName: "c1"},
			resp: &milvuspb.QueryResults{},
			// R4: code 100 (collection not found) is not 0 and not retryable.
			want: map[string]float64{"Query total db1/c1": 1, "Query fail db1/c1": 1},
		},
		{
			name: "fail with the retriable flag", method: "Query",
			answer: func(_ context.Context, _ string, _, _ proto.Message) (proto.Message, error) {
				return &milvuspb.QueryResults{Status: &commonpb.Status{Code: 100, Retriable: true}}, nil
			},
			req:  &milvuspb.QueryRequest{DbName: "db1", CollectionName: "c1"},
			resp: &milvuspb.QueryResults{},
			// R4: only the code makes a retry; Milvus leaves the flag unread.
			want: map[string]float64{"Query total db1/c1": 1, "Query fail db1/c1": 1},
		},
		{
			name: "retry by code 8, rate limit", method: "Insert", answer: mmReply(mmRateLimit, 8),
			req:  &milvuspb.InsertRequest{DbName: "db1", CollectionName: "c1"},
			resp: &milvuspb.MutationResult{},
			// R4: code 8 is retryable.
			want: map[string]float64{"Insert total db1/c1": 1, "Insert retry db1/c1": 1},
		},
		{
			name: "retry by code 109, schema mismatch", method: "Insert", answer: mmReply(mmUnexpectedError, 109),
			req:  &milvuspb.InsertRequest{DbName: "db1", CollectionName: "c1"},
			resp: &milvuspb.MutationResult{},
			// R4: code 109 is retryable.
			want: map[string]float64{"Insert total db1/c1": 1, "Insert retry db1/c1": 1},
		},
		{
			name: "the response is the status", method: "CreateCollection", answer: mmReply(mmUnexpectedError, 65535),
			req:  &milvuspb.CreateCollectionRequest{DbName: "db1", CollectionName: "c1"},
			resp: &commonpb.Status{},
			// R4: CreateCollection answers a commonpb.Status, read as the status.
			want: map[string]float64{"CreateCollection total db1/c1": 1, "CreateCollection fail db1/c1": 1},
		},
		{
			name: "no status in the response", method: "Search",
			answer: func(_ context.Context, _ string, _, resp proto.Message) (proto.Message, error) {
				return resp, nil // Status left nil
			},
			req:  &milvuspb.SearchRequest{DbName: "db1", CollectionName: "c1"},
			resp: &milvuspb.SearchResults{},
			// R4, R5: a nil status is OK.
			want: map[string]float64{"Search total db1/c1": 1, "Search success db1/c1": 1},
		},
		{
			name: "error from the handler chain", method: "Search",
			answer: func(context.Context, string, proto.Message, proto.Message) (proto.Message, error) {
				return nil, status.Error(codes.PermissionDenied, "no privilege")
			},
			req:  &milvuspb.SearchRequest{DbName: "db1", CollectionName: "c1"},
			resp: &milvuspb.SearchResults{}, code: codes.PermissionDenied,
			// R3.
			want: map[string]float64{"Search total db1/c1": 1, "Search rejected db1/c1": 1},
		},
		{
			name: "empty db name filled from the metadata", method: "Search", answer: ok,
			req:  &milvuspb.SearchRequest{CollectionName: "c1"},
			resp: &milvuspb.SearchResults{}, md: metadata.Pairs("dbname", "db7"),
			// R6: Search is a listed type.
			want: map[string]float64{"Search total db7/c1": 1, "Search success db7/c1": 1},
		},
		{
			name: "empty db name filled with the default", method: "Search", answer: ok,
			req:  &milvuspb.SearchRequest{CollectionName: "c1"},
			resp: &milvuspb.SearchResults{},
			// R6: no "dbname" in the metadata.
			want: map[string]float64{"Search total default/c1": 1, "Search success default/c1": 1},
		},
		{
			name: "empty db name on a type that is not filled", method: "DropDatabase", answer: ok,
			req:  &milvuspb.DropDatabaseRequest{},
			resp: &commonpb.Status{}, md: metadata.Pairs("dbname", "db7"),
			// R6: DropDatabase is not a listed type: db_name is "" as sent;
			// R1: it has no collection name.
			want: map[string]float64{"DropDatabase total /": 1, "DropDatabase success /": 1},
		},
		{
			name: "no collection name", method: "ShowCollections", answer: ok,
			req:  &milvuspb.ShowCollectionsRequest{},
			resp: &milvuspb.ShowCollectionsResponse{},
			// R1: ShowCollections has no collection name; R6 fills its db name.
			want: map[string]float64{"ShowCollections total default/": 1, "ShowCollections success default/": 1},
		},
		{
			name: "neither db nor collection name", method: "ListDatabases", answer: ok,
			req:  &milvuspb.ListDatabasesRequest{},
			resp: &milvuspb.ListDatabasesResponse{},
			// R1: ListDatabases has neither.
			want: map[string]float64{"ListDatabases total /": 1, "ListDatabases success /": 1},
		},
		{
			name: "handler panic behind recovery", method: "Search",
			answer: func(context.Context, string, proto.Message, proto.Message) (proto.Message, error) {
				panic("Search panics on purpose")
			},
			req:  &milvuspb.SearchRequest{DbName: "db1", CollectionName: "c1"},
			resp: &milvuspb.SearchResults{}, code: codes.Internal,
			// Not Milvus's rule: in Milvus a panic leaves its interceptor
			// before the second count, so only "total" moves. The set
			// counts a panic as ended, under "rejected": recovery turns
			// it into an error that the client gets, as R3's errors are.
			want: map[string]float64{"Search total db1/c1": 1, "Search rejected db1/c1": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, reg, _ := mmInstall(t, tt.answer)
			ctx := t.Context()
			if tt.md != nil {
				ctx = metadata.NewOutgoingContext(ctx, tt.md)
			}
			err := conn.Invoke(ctx, full+tt.method, tt.req, tt.resp)
			assert.Equal(t, tt.code, status.Code(err), "the call's code: %v", err)
			assert.Equal(t, tt.want, mmReqCounts(t, reg))
			// Not Milvus's rule either: Milvus's handlers observe the
			// latency themselves, for most methods and mostly on success;
			// the set observes every successful call, of every method.
			wantLatency := map[string]uint64{}
			for key := range tt.want {
				if strings.HasPrefix(key, tt.method+" success ") {
					wantLatency[tt.method] = 1
				}
			}
			assert.Equal(t, wantLatency, mmLatencyCounts(t, reg))
		})
	}
}

// TestMilvus26MetadataKey: the "dbname" key is read as gRPC gives it (keys
// are lower-cased on the wire), its first value only, and an empty value
// counts as none (Milvus v2.6.16's GetCurDBNameFromContextOrDefault).
func TestMilvus26MetadataKey(t *testing.T) {
	tests := []struct {
		name string
		md   metadata.MD
		want string
	}{
		{"upper-case key", metadata.Pairs("DBName", "db7"), "db7"},
		{"first value", metadata.Pairs("dbname", "db7", "dbname", "db8"), "db7"},
		{"empty value", metadata.Pairs("dbname", ""), "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, reg, _ := mmInstall(t, mmReply(mmSuccess, 0))
			ctx := metadata.NewOutgoingContext(t.Context(), tt.md)
			require.NoError(t, conn.Invoke(ctx, "/"+mmServiceName+"/Search", &milvuspb.SearchRequest{CollectionName: "c1"}, &milvuspb.SearchResults{}))
			got := mmReqCounts(t, reg)
			assert.Equal(t, map[string]float64{"Search total " + tt.want + "/c1": 1, "Search success " + tt.want + "/c1": 1}, got)
		})
	}
}
