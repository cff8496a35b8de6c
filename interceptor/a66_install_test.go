package interceptor_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// axRawCodec sends its message, a []byte, as it is: a request that the
// server's codec may fail to decode.
type axRawCodec struct{}

func (axRawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, errors.New("axRawCodec: not []byte")
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (axRawCodec) Unmarshal(mem.BufferSlice, any) error { return nil }
func (axRawCodec) Name() string                         { return "proto" }

// TestServerCountsA66ProviderAndMilvusAtOnce installs gRPC's own metrics,
// the provider's families and Milvus v2.0's counters on one RootCoord
// server from one install, its ServerOptions, behind a recovery
// interceptor, and checks every count of every set over bufconn: each set
// counts the calls its peer would, with the code its peer derives. A66
// alone counts the calls that the interceptors never see: a method no
// service has (started, never ended) and a request that fails to decode.
func TestServerCountsA66ProviderAndMilvusAtOnce(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := registry.New()
	require.NoError(t, m.Register(reg))
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	ic, err := interceptor.New(methods)
	require.NoError(t, err)
	sm, err := interceptor.LegacyServerMetrics()
	require.NoError(t, err)
	a, err := interceptor.LegacyA66()
	require.NoError(t, err)
	install, err := interceptor.NewServer(interceptor.ServerSets{Milvus: ic, Provider: sm, A66: a})
	require.NoError(t, err)
	require.NoError(t, install.Register(reg))
	require.NotNil(t, install.StatsHandler())

	gs := grpc.NewServer(append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor())}, install.ServerOptions()...)...)
	rootcoordpb.RegisterRootCoordServer(gs, enRootCoord{})
	require.NoError(t, sm.Init(gs))
	require.NoError(t, a.Init(gs))
	lis := bufconn.Listen(1 << 20)
	served := make(chan error, 1)
	go func() { served <- gs.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	rc := rootcoordpb.NewRootCoordClient(conn)

	const ok, fail, errs, panics = 20, 6, 4, 3
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
	// Registered, unimplemented: every set counts it.
	_, err = rc.DropCollection(context.Background(), &milvuspb.DropCollectionRequest{})
	require.Equal(t, codes.Unimplemented, grpcstatus.Code(err))
	// No service has it: A66 counts it started, as "other", and never ended.
	err = conn.Invoke(context.Background(), "/no.such.Service/Call", &milvuspb.DropCollectionRequest{}, &commonpb.Status{})
	require.Equal(t, codes.Unimplemented, grpcstatus.Code(err))
	// A request that fails to decode, before any interceptor: A66 alone.
	err = conn.Invoke(context.Background(), enCreate, []byte{0x0a, 0xff}, &commonpb.Status{}, grpc.ForceCodecV2(axRawCodec{}))
	require.Equal(t, codes.Internal, grpcstatus.Code(err))
	require.NoError(t, conn.Close())
	gs.GracefulStop() // grpc-go ends a call after writing its status
	require.NoError(t, <-served)

	// Milvus v2.0's counters.
	const total = ok + fail + errs + panics
	vec := m.RootCoord.CreateCollectionCounter
	assert.Equal(t, float64(total), testutil.ToFloat64(vec.WithLabelValues("client_1", registry.TotalLabel)))
	assert.Equal(t, float64(ok), testutil.ToFloat64(vec.WithLabelValues("client_1", registry.SuccessLabel)))
	assert.Equal(t, float64(fail+errs+panics), testutil.ToFloat64(vec.WithLabelValues("client_1", registry.FailLabel)))

	// The provider's families: what the interceptor saw, the panic as
	// Unknown; neither the request that failed to decode nor the method
	// no service has reached it.
	create := "grpc_method=CreateCollection|grpc_service=milvus.proto.rootcoord.RootCoord|grpc_type=unary"
	drop := "grpc_method=DropCollection|grpc_service=milvus.proto.rootcoord.RootCoord|grpc_type=unary"
	assert.Equal(t, map[string]float64{create: total, drop: 1}, axCounts(t, reg, "grpc_server_started_total"))
	assert.Equal(t, map[string]float64{
		"grpc_code=OK|" + create:          ok + fail,
		"grpc_code=NotFound|" + create:    errs,
		"grpc_code=Unknown|" + create:     panics,
		"grpc_code=Unimplemented|" + drop: 1,
	}, axCounts(t, reg, "grpc_server_handled_total"))
	assert.Equal(t, map[string]float64{create: fail}, axCounts(t, reg, "grpcmetrics_server_response_failed_total"))

	// gRPC's own, from the End events: the panic with the code that the
	// recovery interceptor sends (Unknown); the request that failed to
	// decode (Internal); the method no service has, started only.
	const createA66, dropA66 = "grpc_method=milvus.proto.rootcoord.RootCoord/CreateCollection", "grpc_method=milvus.proto.rootcoord.RootCoord/DropCollection"
	assert.Equal(t, map[string]float64{createA66: total + 1, dropA66: 1, "grpc_method=other": 1},
		axCounts(t, reg, "grpc_server_call_started_total"))
	ended := map[string]float64{
		createA66 + "|grpc_status=OK":          ok + fail,
		createA66 + "|grpc_status=NOT_FOUND":   errs,
		createA66 + "|grpc_status=UNKNOWN":     panics,
		createA66 + "|grpc_status=INTERNAL":    1,
		dropA66 + "|grpc_status=UNIMPLEMENTED": 1,
	}
	for _, name := range []string{
		"grpc_server_call_duration_seconds",
		"grpc_server_call_sent_total_compressed_message_size_bytes",
		"grpc_server_call_rcvd_total_compressed_message_size_bytes",
	} {
		assert.Equal(t, ended, axCounts(t, reg, name), name)
	}
}

// TestServerOptionsGiveWhatTheSetsNeed checks that a Server's
// ServerOptions give the interceptors when a set counts from them, and
// the stats handler when a set needs one.
func TestServerOptionsGiveWhatTheSetsNeed(t *testing.T) {
	for _, tc := range []struct {
		name          string
		a66, provider bool
		handler       bool
		options       int
	}{
		{"A66 alone", true, false, true, 1},
		{"provider alone", false, true, false, 2},
		{"both", true, true, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sets interceptor.ServerSets
			if tc.a66 {
				a, err := interceptor.LegacyA66()
				require.NoError(t, err)
				sets.A66 = a
			}
			if tc.provider {
				sm, err := interceptor.LegacyServerMetrics()
				require.NoError(t, err)
				sets.Provider = sm
			}
			s, err := interceptor.NewServer(sets)
			require.NoError(t, err)
			assert.Equal(t, tc.handler, s.StatsHandler() != nil)
			assert.Len(t, s.ServerOptions(), tc.options)
		})
	}
}
