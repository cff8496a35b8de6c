package interceptor_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

const enCreate = "/milvus.proto.rootcoord.RootCoord/CreateCollection"

// enRootCoord answers CreateCollection by the collection's name: "fail" a
// failing status, "error" NotFound, "panic" a panic, anything else success.
type enRootCoord struct {
	rootcoordpb.UnimplementedRootCoordServer
}

func (enRootCoord) CreateCollection(_ context.Context, req *milvuspb.CreateCollectionRequest) (*commonpb.Status, error) {
	switch req.GetCollectionName() {
	case "fail":
		return &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError}, nil
	case "error":
		return nil, grpcstatus.Error(codes.NotFound, "no such thing")
	case "panic":
		panic("enRootCoord: a bug")
	}
	return &commonpb.Status{}, nil
}

// enSets builds the Milvus counters and the provider's families, with no
// option of an install, registered on reg through the Server built over
// them with opts.
func enSets(t *testing.T, reg *prometheus.Registry, opts ...interceptor.Option) (*registry.Metrics, *interceptor.ServerMetrics, *interceptor.Server) {
	t.Helper()
	m := registry.New()
	require.NoError(t, m.Register(reg))
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	ic, err := interceptor.New(methods)
	require.NoError(t, err)
	sm, err := interceptor.LegacyServerMetrics()
	require.NoError(t, err)
	srv, err := interceptor.NewServer(interceptor.ServerSets{Milvus: ic, Provider: sm}, opts...)
	require.NoError(t, err)
	require.NoError(t, srv.Register(reg))
	require.NoError(t, srv.Register(reg), "registering twice is a no-op")
	return m, sm, srv
}

// TestServerCountsMilvusAndProviderAtOnce counts one RootCoord server into
// Milvus v2.0's counters and the provider's families from one install,
// latency on for both, over bufconn, and checks every count.
func TestServerCountsMilvusAndProviderAtOnce(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	var statusReads atomic.Int64
	status := interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()
	m, sm, install := enSets(t, reg,
		interceptor.WithHistogram(interceptor.Histogram{}),
		interceptor.WithStatus(func(resp any) bool { statusReads.Add(1); return status(resp) }),
	)

	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(), install.UnaryServerInterceptor()))
	rootcoordpb.RegisterRootCoordServer(gs, enRootCoord{})
	require.NoError(t, sm.Init(gs))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = gs.Serve(lis) }() //nolint:errcheck // ends with Stop
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close()) })
	rc := rootcoordpb.NewRootCoordClient(conn)

	const ok, fail, errs, panics = 40, 12, 7, 5
	var wg sync.WaitGroup
	for name, n := range map[string]int{"ok": ok, "fail": fail, "error": errs, "panic": panics} {
		for range n {
			wg.Go(func() {
				//nolint:errcheck // the outcomes are counted, not returned
				rc.CreateCollection(context.Background(), &milvuspb.CreateCollectionRequest{
					Base:           &commonpb.MsgBase{SourceID: 1},
					CollectionName: name,
				})
			})
		}
	}
	wg.Wait()
	// One unmapped, unimplemented method: the provider's families only.
	_, err = rc.DropCollection(context.Background(), &milvuspb.DropCollectionRequest{})
	require.Equal(t, codes.Unimplemented, grpcstatus.Code(err))

	const total = ok + fail + errs + panics
	vec := m.RootCoord.CreateCollectionCounter
	assert.Equal(t, float64(total), testutil.ToFloat64(vec.WithLabelValues("client_1", registry.TotalLabel)))
	assert.Equal(t, float64(ok), testutil.ToFloat64(vec.WithLabelValues("client_1", registry.SuccessLabel)))
	assert.Equal(t, float64(fail+errs+panics), testutil.ToFloat64(vec.WithLabelValues("client_1", registry.FailLabel)))

	mfs, err := reg.Gather()
	require.NoError(t, err)
	get := func(name string, labels map[string]string) float64 {
		t.Helper()
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
		next:
			for _, mt := range mf.GetMetric() {
				for _, lp := range mt.GetLabel() {
					if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
						continue next
					}
				}
				if h := mt.GetHistogram(); h != nil {
					return float64(h.GetSampleCount())
				}
				return mt.GetCounter().GetValue()
			}
		}
		return 0
	}
	create := map[string]string{"grpc_type": "unary", "grpc_service": "milvus.proto.rootcoord.RootCoord", "grpc_method": "CreateCollection"}
	with := func(k, v string) map[string]string {
		l := map[string]string{k: v}
		for k, v := range create {
			l[k] = v
		}
		return l
	}
	assert.Equal(t, float64(total), get("grpc_server_started_total", create))
	assert.Equal(t, float64(total), get("grpc_server_msg_received_total", create))
	assert.Equal(t, float64(ok+fail), get("grpc_server_msg_sent_total", create))
	assert.Equal(t, float64(ok+fail), get("grpc_server_handled_total", with("grpc_code", "OK")))
	assert.Equal(t, float64(errs), get("grpc_server_handled_total", with("grpc_code", "NotFound")))
	assert.Equal(t, float64(panics), get("grpc_server_handled_total", with("grpc_code", "Unknown")))
	assert.Equal(t, float64(fail), get("grpcmetrics_server_response_failed_total", create))
	assert.Equal(t, float64(total), get("grpc_server_handling_seconds", create), "one observation per call, for both sets")
	drop := map[string]string{"grpc_method": "DropCollection", "grpc_code": "Unimplemented"}
	assert.Equal(t, 1.0, get("grpc_server_handled_total", drop))
	assert.Equal(t, 1.0, get("grpc_server_handling_seconds", map[string]string{"grpc_method": "DropCollection"}))
	assert.Equal(t, int64(ok+fail), statusReads.Load(), "one status read per call that returned a response")
}

// TestNewServerRefusesWhatIsNotItsOwn checks NewServer's errors.
func TestNewServerRefusesWhatIsNotItsOwn(t *testing.T) {
	plain, err := interceptor.LegacyServerMetrics()
	require.NoError(t, err)
	tests := []struct {
		name string
		sets interceptor.ServerSets
		opts []interceptor.Option
		want []string
	}{
		{"no set", interceptor.ServerSets{}, nil, []string{"no metric set"}},
		{"a nil option", interceptor.ServerSets{Provider: plain}, []interceptor.Option{nil}, []string{"option 0 is nil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := interceptor.NewServer(tt.sets, tt.opts...)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

// TestServerUnaryAllocatesNothing checks the warm unary path of an install
// of both sets, latency on and the default rules, for zero allocations.
func TestServerUnaryAllocatesNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, sm, install := enSets(t, reg, interceptor.WithHistogram(interceptor.Histogram{}))
	gs := grpc.NewServer()
	rootcoordpb.RegisterRootCoordServer(gs, enRootCoord{})
	require.NoError(t, sm.Init(gs))
	icpt := install.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: enCreate}
	ctx := context.Background()
	req := &milvuspb.CreateCollectionRequest{Base: &commonpb.MsgBase{SourceID: 3}}
	resp := &commonpb.Status{}
	handler := func(context.Context, any) (any, error) { return resp, nil }
	_, _ = icpt(ctx, req, info, handler) //nolint:errcheck // warm
	assert.Zero(t, testing.AllocsPerRun(200, func() {
		_, _ = icpt(ctx, req, info, handler) //nolint:errcheck // measured
	}))
}

// enServerOptions returns opts as NewServerMetrics takes them.
func enServerOptions(opts []interceptor.Option) []interceptor.Option {
	return append([]interceptor.Option(nil), opts...)
}
