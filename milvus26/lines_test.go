package milvus26

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// mmLines are the release lines, each tested on its own.
var mmLines = []interceptor.Milvus26Line{interceptor.MilvusV2616, interceptor.MilvusV2620, interceptor.MilvusV2621}

// mmNA is the cause that line l writes on the outcomes without one: none
// at all on v2.6.16 (no cause label), "na" on v2.6.20, "" after.
func mmNA(l interceptor.Milvus26Line) string {
	if l == interceptor.MilvusV2620 {
		return "na"
	}
	return ""
}

// mmErrorType and mmMilvusError restate, in our words, what the tests need
// of Milvus's package merr: an error type whose GetErrorType returns an
// int32 type, SystemError 0 and InputError 1 (pkg/util/merr/errors.go),
// and the marker that WrapErrAsInputError wraps an error in
// (pkg/util/merr/utils.go, errorTypeMarker, since v2.6.19).
type (
	mmErrorType   int32
	mmMilvusError struct {
		msg  string
		code int32
		typ  mmErrorType
	}
	mmTypeMarker struct {
		error
		typ mmErrorType
	}
)

const (
	mmSystemError mmErrorType = 0
	mmInputError  mmErrorType = 1
)

func (e mmMilvusError) Error() string             { return fmt.Sprintf("%s[code=%d]", e.msg, e.code) }
func (e mmMilvusError) GetErrorType() mmErrorType { return e.typ }
func (m mmTypeMarker) Unwrap() error              { return m.error }
func (m mmTypeMarker) GetErrorType() mmErrorType  { return m.typ }

// mmStatus returns a status of errorCode and code; error_code, which
// milvus-proto marks deprecated, is set through protoreflect.
func mmStatus(errorCode, code int32) *commonpb.Status {
	s := &commonpb.Status{Code: code}
	m := s.ProtoReflect()
	m.Set(m.Descriptor().Fields().ByName("error_code"), protoreflect.ValueOfEnum(protoreflect.EnumNumber(errorCode)))
	return s
}

// mmInputStatus is the status merr.Status makes of an input error: the
// code, and ExtraInfo["is_input_error"] = "true" (merr.InputErrorFlagKey).
func mmInputStatus(code int32) *commonpb.Status {
	s := mmStatus(mmUnexpectedError, code)
	s.ExtraInfo = map[string]string{"is_input_error": "true"}
	return s
}

// mmOutcome is how one call is labelled on each line: the status on
// v2.6.16, and the (status, cause) pair on the lines with a cause, where
// "NA" stands for the line's cause of the outcomes without one.
type mmOutcome struct {
	v2616, status, cause string
}

// TestMilvus26LinesEqualToMilvusRules calls MilvusService's Search over the
// real v2.6 types, behind a recovery interceptor (outermost) and the set,
// with every outcome Milvus's ParseMetricLabel tells apart, on each release
// line, and expects milvus_proxy_req_count and milvus_proxy_grpc_latency as
// that line's Milvus fills them. Milvus's rules, in our words
// (pkg/util/requestutil/getter.go, ParseMetricLabel, at v2.6.16 and in the
// change that v2.6.20, v2.6.21 and 3.0 took; pkg/util/merr):
//
//   - L1 (v2.6.16): an error from the chain is "rejected"; else a failing
//     status (error_code or code not 0) is "retry" with code 8 or 109, else
//     "fail"; else "success".
//   - L2 (v2.6.20 on): a failing status comes first: code 10000
//     (merr.CanceledCode) is ("fail", "cancel"); code 8 or 109 is "retry"
//     with no cause; ExtraInfo["is_input_error"] == "true" is ("fail",
//     "user"); any other is ("fail", "system").
//   - L3 (v2.6.20 on): else an error: context.Canceled is ("rejected",
//     "cancel"); an error whose merr type is InputError ("rejected",
//     "user"); a gRPC status of code Unauthenticated, PermissionDenied or
//     InvalidArgument ("rejected", "user"); anything else ("rejected",
//     "system"), a raw gRPC Canceled status included, since it is no
//     context.Canceled.
//   - L4: "total" and the outcomes without a responsible party carry cause
//     "na" on v2.6.20, "" on v2.6.21 and 3.0; v2.6.16 has no cause label.
//   - L5: milvus_proxy_grpc_latency observes each ended call under
//     (node_id, function_name, status[, cause]), never "total".
//
// A panic is this set's rule, not Milvus's (whose interceptor counts only
// "total" for it): "rejected", cause "system", as the error recovery makes
// of it would be.
func TestMilvus26LinesEqualToMilvusRules(t *testing.T) {
	reply := func(s *commonpb.Status) mmAnswer {
		return func(context.Context, string, proto.Message, proto.Message) (proto.Message, error) {
			return &milvuspb.SearchResults{Status: s}, nil
		}
	}
	fails := func(err error) mmAnswer {
		return func(context.Context, string, proto.Message, proto.Message) (proto.Message, error) {
			return nil, err
		}
	}
	tests := []struct {
		name   string
		answer mmAnswer
		want   mmOutcome
	}{
		{"success", reply(mmStatus(mmSuccess, 0)), mmOutcome{"success", "success", "NA"}},
		{"unset status", reply(nil), mmOutcome{"success", "success", "NA"}},
		{"system error status", reply(mmStatus(mmUnexpectedError, 65535)), mmOutcome{"fail", "fail", "system"}},
		{"collection not found, system", reply(mmStatus(mmUnexpectedError, 100)), mmOutcome{"fail", "fail", "system"}},
		{"input error status", reply(mmInputStatus(1100)), mmOutcome{"fail", "fail", "user"}},
		{"input flag not true", reply(&commonpb.Status{Code: 1100, ExtraInfo: map[string]string{"is_input_error": "yes"}}), mmOutcome{"fail", "fail", "system"}},
		{"error_code alone", reply(mmStatus(mmUnexpectedError, 0)), mmOutcome{"fail", "fail", "system"}},
		{"legacy rate-limit error_code, code 0", reply(mmStatus(mmRateLimit, 0)), mmOutcome{"fail", "fail", "system"}},
		{"client cancelled, in the status", reply(mmStatus(mmUnexpectedError, 10000)), mmOutcome{"fail", "fail", "cancel"}},
		{"retry: rate limit", reply(mmStatus(mmRateLimit, 8)), mmOutcome{"retry", "retry", "NA"}},
		{"retry: schema mismatch, flagged input", reply(mmInputStatus(109)), mmOutcome{"retry", "retry", "NA"}},
		{"rejected: unauthenticated", fails(status.Error(codes.Unauthenticated, "auth")), mmOutcome{"rejected", "rejected", "user"}},
		{"rejected: permission denied", fails(status.Error(codes.PermissionDenied, "privilege")), mmOutcome{"rejected", "rejected", "user"}},
		{"rejected: hook's invalid argument", fails(status.Error(codes.InvalidArgument, "hook")), mmOutcome{"rejected", "rejected", "user"}},
		{"rejected: unavailable", fails(status.Error(codes.Unavailable, "down")), mmOutcome{"rejected", "rejected", "system"}},
		{"rejected: raw gRPC canceled is system", fails(status.Error(codes.Canceled, "canceled")), mmOutcome{"rejected", "rejected", "system"}},
		{"rejected: context canceled", fails(fmt.Errorf("wait: %w", context.Canceled)), mmOutcome{"rejected", "rejected", "cancel"}},
		{"rejected: deadline is system", fails(context.DeadlineExceeded), mmOutcome{"rejected", "rejected", "system"}},
		{"rejected: merr input error", fails(mmMilvusError{"parameter invalid", 1100, mmInputError}), mmOutcome{"rejected", "rejected", "user"}},
		{"rejected: merr system error", fails(mmMilvusError{"service internal", 5, mmSystemError}), mmOutcome{"rejected", "rejected", "system"}},
		{"rejected: wrapped as input", fails(fmt.Errorf("ctx: %w", mmTypeMarker{mmMilvusError{"not found", 100, mmSystemError}, mmInputError})), mmOutcome{"rejected", "rejected", "user"}},
		{"rejected: joined, first classifier wins", fails(fmt.Errorf("%w; %w", status.Error(codes.Internal, "x"), mmMilvusError{"bad", 1100, mmInputError})), mmOutcome{"rejected", "rejected", "user"}},
		{"status before error", func(context.Context, string, proto.Message, proto.Message) (proto.Message, error) {
			return &milvuspb.SearchResults{Status: mmInputStatus(1100)}, status.Error(codes.Internal, "both")
		}, mmOutcome{"rejected", "fail", "user"}},
		{"panic behind recovery", func(context.Context, string, proto.Message, proto.Message) (proto.Message, error) {
			panic("handler bug")
		}, mmOutcome{"rejected", "rejected", "system"}},
	}
	for _, line := range mmLines {
		t.Run(line.String(), func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					conn, reg, _ := mmInstall(t, tt.answer, interceptor.WithLine(line), interceptor.WithGRPCLatency())
					req := &milvuspb.SearchRequest{DbName: "db1", CollectionName: "c1"}
					_ = conn.Invoke(t.Context(), "/"+mmServiceName+"/Search", req, &milvuspb.SearchResults{}) // the outcome is the point
					status, cause := tt.want.v2616, ""
					if line != interceptor.MilvusV2616 {
						status, cause = tt.want.status, tt.want.cause
						if cause == "NA" {
							cause = mmNA(line)
						}
					}
					total := mmLabelled{"total", mmNA(line)}
					want := map[mmLabelled]float64{total: 1, {status, cause}: 1}
					assert.Equal(t, want, mmLineCounts(t, reg, line, "db1", "c1"), "milvus_proxy_req_count")
					assert.Equal(t, map[mmLabelled]uint64{{status, cause}: 1}, mmGRPCLatency(t, reg, line), "milvus_proxy_grpc_latency")
				})
			}
		})
	}
}

// TestMilvus26LinesCancelledClient cancels a client's Search while its
// handler waits, and expects the handler's context error to count as
// ("rejected", "cancel") on the lines with a cause, "rejected" on v2.6.16.
func TestMilvus26LinesCancelledClient(t *testing.T) {
	for _, line := range mmLines {
		t.Run(line.String(), func(t *testing.T) {
			started, counted := make(chan struct{}), make(chan struct{})
			answer := func(ctx context.Context, _ string, _, _ proto.Message) (proto.Message, error) {
				close(started)
				<-ctx.Done()
				return nil, ctx.Err()
			}
			m, err := interceptor.NewMilvus26(interceptor.WithNodeID(mmNodeID), interceptor.WithLine(line), interceptor.WithGRPCLatency())
			require.NoError(t, err)
			install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus26: m})
			require.NoError(t, err)
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, install.Register(reg))
			signal := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
				defer close(counted) // after the set, inside, has counted
				return handler(ctx, req)
			}
			recovered := recovery.WithRecoveryHandler(func(p any) error { return status.Errorf(codes.Internal, "panic: %v", p) })
			srv := grpc.NewServer(append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(signal, recovery.UnaryServerInterceptor(recovered))},
				install.ServerOptions()...)...)
			conn := mmServe(t, srv, mmServiceDesc(t, answer), install)
			ctx, cancel := context.WithCancel(t.Context())
			errc := make(chan error, 1)
			go func() {
				errc <- conn.Invoke(ctx, "/"+mmServiceName+"/Search", &milvuspb.SearchRequest{CollectionName: "c1"}, &milvuspb.SearchResults{})
			}()
			<-started
			cancel()
			require.Equal(t, codes.Canceled, status.Code(<-errc))
			<-counted
			want := mmLabelled{"rejected", "cancel"}
			if line == interceptor.MilvusV2616 {
				want = mmLabelled{"rejected", ""}
			}
			assert.Equal(t, map[mmLabelled]float64{{"total", mmNA(line)}: 1, want: 1},
				mmLineCounts(t, reg, line, "default", "c1"))
		})
	}
}

// TestMilvus26LinesAbandon counts an abandoned DescribeCollection, as
// Milvus's handler does when its task queue refuses the task, under the
// request's pair.
func TestMilvus26LinesAbandon(t *testing.T) {
	for _, line := range mmLines {
		t.Run(line.String(), func(t *testing.T) {
			m, err := interceptor.NewMilvus26(interceptor.WithNodeID(mmNodeID), interceptor.WithLine(line))
			require.NoError(t, err)
			install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus26: m})
			require.NoError(t, err)
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, install.Register(reg))
			m.Abandon(t.Context(), "/"+mmServiceName+"/Search", &milvuspb.SearchRequest{DbName: "db1", CollectionName: "c1"})
			assert.Equal(t, map[mmLabelled]float64{{"abandon", mmNA(line)}: 1}, mmLineCounts(t, reg, line, "db1", "c1"))
		})
	}
}

// mmLabelled is a series' status and cause.
type mmLabelled struct{ status, cause string }

// mmLineCounts gathers milvus_proxy_req_count's Search series by status
// and cause, and requires the line's label names on each, the node ID, and
// the pair (db, coll).
func mmLineCounts(t *testing.T, reg prometheus.Gatherer, line interceptor.Milvus26Line, db, coll string) map[mmLabelled]float64 {
	t.Helper()
	out := map[mmLabelled]float64{}
	for _, l := range mmSeries(t, reg, "milvus_proxy_req_count", line, "node_id", "function_name", "status", "cause", "db_name", "collection_name") {
		require.Equal(t, "Search", l.labels["function_name"])
		require.Equal(t, db+"/"+coll, l.labels["db_name"]+"/"+l.labels["collection_name"])
		out[mmLabelled{l.labels["status"], l.labels["cause"]}] += l.metric.GetCounter().GetValue()
	}
	return out
}

// mmGRPCLatency gathers milvus_proxy_grpc_latency's observation counts by
// status and cause.
func mmGRPCLatency(t *testing.T, reg prometheus.Gatherer, line interceptor.Milvus26Line) map[mmLabelled]uint64 {
	t.Helper()
	out := map[mmLabelled]uint64{}
	for _, l := range mmSeries(t, reg, "milvus_proxy_grpc_latency", line, "node_id", "function_name", "status", "cause") {
		require.Len(t, l.metric.GetHistogram().GetBucket(), 18, "Milvus's buckets 1, 2, 4 … 131072")
		require.InDelta(t, 131072, l.metric.GetHistogram().GetBucket()[17].GetUpperBound(), 0)
		out[mmLabelled{l.labels["status"], l.labels["cause"]}] += l.metric.GetHistogram().GetSampleCount()
	}
	return out
}

// mmSeriesOf is one series of a gathered family: its labels and value.
type mmSeriesOf struct {
	labels map[string]string
	metric *dto.Metric
}

// mmSeries gathers the series of family name and requires each to carry
// exactly the label names given, less "cause" on v2.6.16, and node_id
// mmNodeID.
func mmSeries(t *testing.T, reg prometheus.Gatherer, name string, line interceptor.Milvus26Line, names ...string) []mmSeriesOf {
	t.Helper()
	want := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "cause" && line == interceptor.MilvusV2616 })
	slices.Sort(want)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var out []mmSeriesOf
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			require.Equal(t, want, slices.Sorted(maps.Keys(l)), "label names of %s", name)
			require.Equal(t, "7", l["node_id"])
			out = append(out, mmSeriesOf{l, m})
		}
	}
	return out
}
