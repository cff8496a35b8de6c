package monitoring_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcmetrics/grpcmetrics/examples/datanode"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// mmCollectionLimit is the Milvus 2.6 stacks' collection limit: below the
// (db_name, collection_name) pairs that the traffic brings (three
// collection names, under "default" for the request types Milvus fills
// and "" for the others), so that the overflow counter moves.
const mmCollectionLimit = 2

// mmRetryEvery is how often, in calls that answer a Milvus status, the
// Milvus 2.6 stacks turn the status into a rate limit (code 8), which
// milvus_proxy_req_count counts under "retry".
const mmRetryEvery = 4

// mmNewMilvus26Stack counts into Milvus 2.6's request counters (the names
// the Milvus 2.6 flavour reads), over the example services, with the
// collection limit mmCollectionLimit and one in mmRetryEvery statuses
// turned into a rate limit; the traffic's own calls are counted by
// ClientMetrics. If withMilvus is set, the set is installed by NewServer
// beside Milvus v2.0's counters of the built-in table, as one install;
// else alone. /metrics is served in OpenMetrics, to a scraper that asks
// for it, if openMetrics is set.
func mmNewMilvus26Stack(t *testing.T, withMilvus, openMetrics bool) *stack {
	t.Helper()
	reg := prometheus.NewRegistry()
	set, err := interceptor.NewMilvus26(interceptor.WithNodeID(1), interceptor.WithCollectionLimit(mmCollectionLimit), interceptor.WithReqLatency())
	require.NoError(t, err)
	sets := interceptor.ServerSets{Milvus26: set}
	if withMilvus {
		m := registry.New()
		require.NoError(t, m.Register(reg))
		table, err := methodmap.Default(m)
		require.NoError(t, err)
		if sets.Milvus, err = interceptor.NewMilvusCounters(table); err != nil {
			t.Fatal(err)
		}
	}
	install := serverInstall(t, reg, sets)
	srv := grpc.NewServer(withRecovery(install, grpc.ChainUnaryInterceptor(mmRateLimit(mmRetryEvery)))...)
	proxy.New().Register(srv)
	rootcoord.New().Register(srv)
	datanode.New().Register(srv)
	require.NoError(t, install.Init(srv))
	conn := serveInMemory(t, srv, clientInstall(t, reg,
		interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()),
		interceptor.WithHistogram(interceptor.Histogram{})).DialOptions()...)
	methods, err := unaryMethods(conn, srv)
	require.NoError(t, err)
	return &stack{metrics: promtest.ServeMetricsWith(t, reg, httpserver.Options{OpenMetrics: openMetrics}), methods: methods}
}

// mmRateLimit answers one in every n calls that return a succeeding Milvus
// status with a rate limit instead: error_code RateLimit (49) and code 8,
// as Milvus's rate limiter does.
func mmRateLimit(n int64) grpc.UnaryServerInterceptor {
	var calls atomic.Int64
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return resp, err
		}
		msg, ok := resp.(proto.Message)
		if !ok {
			return resp, nil
		}
		status := mmStatusOf(msg.ProtoReflect())
		if status == nil {
			return resp, nil
		}
		fields := status.Descriptor().Fields()
		if status.Get(fields.ByName("error_code")).Enum() != 0 || status.Get(fields.ByName("code")).Int() != 0 {
			return resp, nil // already failing
		}
		if calls.Add(1)%n == 0 {
			status.Set(fields.ByName("error_code"), protoreflect.ValueOfEnum(49))
			status.Set(fields.ByName("code"), protoreflect.ValueOfInt32(8))
		}
		return resp, nil
	}
}

// mmStatusOf returns the Milvus status of a response, m itself or its
// status field, made if unset; nil if it has none.
func mmStatusOf(m protoreflect.Message) protoreflect.Message {
	const status = "milvus.proto.common.Status"
	if m.Descriptor().FullName() == status {
		return m
	}
	f := m.Descriptor().Fields().ByName("status")
	if f == nil || f.Message() == nil || f.Message().FullName() != status {
		return nil
	}
	return m.Mutable(f).Message()
}
