package grpcmetrics_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/datanode"
	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/datapb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// TestConcurrentCountsAreExact drives 64 goroutines through the interceptor
// over bufconn, mixing successes, status failures (error_code and code),
// gRPC errors and handler panics (turned into errors by go-grpc-middleware's
// recovery, outside the interceptor), and checks for every method touched
// that total == success + fail == calls and fail == the faults injected.
// It makes 20,000 calls; GRPCMETRICS_SOAK=1 makes it 1,000,000.
func TestConcurrentCountsAreExact(t *testing.T) {
	calls := 20_000
	if os.Getenv("GRPCMETRICS_SOAK") != "" {
		calls = 1_000_000
	}
	if testing.Short() {
		calls = 5_000
	}
	const workers = 64

	m := registry.New()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, m.Register(reg))
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	ic, err := interceptor.NewMilvusCounters(methods)
	require.NoError(t, err)
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic})
	require.NoError(t, err)

	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor())}, install.ServerOptions()...)...)
	proxy.New().Register(srv)
	rootcoord.New().Register(srv)
	datanode.New().Register(srv)
	require.NoError(t, install.Init(srv))
	go func() { assert.NoError(t, srv.Serve(lis), "serve") }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close()) })
	mc := milvuspb.NewMilvusServiceClient(conn)
	rc := rootcoordpb.NewRootCoordClient(conn)
	dn := datapb.NewDataNodeClient(conn)

	// Each target is one method with one client; the per-target call and
	// fault counts are what the counters must show.
	type target struct {
		name  string
		call  func(ctx context.Context, i int) error
		vec   *prometheus.CounterVec
		label []string // labels before the call label value
	}
	targets := []target{
		{"proxy HasCollection", func(ctx context.Context, _ int) error {
			_, err := mc.HasCollection(ctx, &milvuspb.HasCollectionRequest{CollectionName: "c"})
			return err
		}, m.Proxy.HasCollectionCounter, nil},
		{"rootcoord HasCollection client 1", func(ctx context.Context, _ int) error {
			_, err := rc.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: &commonpb.MsgBase{SourceID: 1}, CollectionName: "c"})
			return err
		}, m.RootCoord.HasCollectionCounter, []string{"client_1"}},
		{"rootcoord HasCollection client 2", func(ctx context.Context, _ int) error {
			_, err := rc.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: &commonpb.MsgBase{SourceID: 2}, CollectionName: "c"})
			return err
		}, m.RootCoord.HasCollectionCounter, []string{"client_2"}},
		{"datanode FlushSegments", func(ctx context.Context, i int) error {
			_, err := dn.FlushSegments(ctx, &datapb.FlushSegmentsRequest{CollectionID: 1, SegmentIDs: []int64{int64(i)}})
			return err
		}, m.DataNode.FlushSegmentsCounter, nil},
	}
	modes := []fault.Mode{"", fault.ErrorCode, fault.Code, fault.Error, fault.Panic}
	made := make([]atomic.Int64, len(targets))
	faults := make([]atomic.Int64, len(targets))
	var unexpected atomic.Int64

	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= calls {
					return
				}
				ti, mode := i%len(targets), modes[(i/len(targets))%len(modes)]
				ctx := context.Background()
				if mode != "" {
					ctx = fault.AppendToOutgoingContext(ctx, mode)
					faults[ti].Add(1)
				}
				made[ti].Add(1)
				err := targets[ti].call(ctx, i)
				if (err != nil) != (mode == fault.Error || mode == fault.Panic) {
					unexpected.Add(1)
				}
			}
		})
	}
	wg.Wait()
	require.Zero(t, unexpected.Load(), "calls whose error did not match the fault injected")

	var sum int64
	for i, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			v := func(call string) float64 {
				return testutil.ToFloat64(tg.vec.WithLabelValues(append(append([]string(nil), tg.label...), call)...))
			}
			total, success, fail := v(registry.TotalLabel), v(registry.SuccessLabel), v(registry.FailLabel)
			assert.Equal(t, float64(made[i].Load()), total)
			assert.Equal(t, total, success+fail)
			assert.Equal(t, float64(faults[i].Load()), fail)
		})
		sum += made[i].Load()
	}
	assert.Equal(t, int64(calls), sum, fmt.Sprintf("%d calls made", calls))
}
