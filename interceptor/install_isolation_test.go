package interceptor_test

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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

// isoRootCoord answers CreateCollection by the collection's name: "fail"
// a failing status, "retry" a failing status of code 8 (rate limit),
// "error" NotFound, "panic" a panic, anything else success.
type isoRootCoord struct {
	rootcoordpb.UnimplementedRootCoordServer
}

func (isoRootCoord) CreateCollection(_ context.Context, req *milvuspb.CreateCollectionRequest) (*commonpb.Status, error) {
	switch req.GetCollectionName() {
	case "fail":
		return &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError}, nil
	case "retry":
		return &commonpb.Status{Code: 8}, nil
	case "error":
		return nil, grpcstatus.Error(codes.NotFound, "no such thing")
	case "panic":
		panic("isoRootCoord: a bug")
	}
	return &commonpb.Status{}, nil
}

// isoSet names one of the four sets of a server.
type isoSet int

const (
	isoMilvus isoSet = iota
	isoProvider
	isoMilvus26
	isoA66
	isoNumSets
)

func (s isoSet) String() string {
	return [...]string{"Milvus v2.0", "provider", "Milvus 2.6", "A66"}[s]
}

// isoRun serves a rootcoord with one install of the sets given, with the
// Milvus counters built with milvusOpts, calls CreateCollection once per
// name of the workload (and once DropCollection, unimplemented) over
// bufconn with recovery outside the install, stops the server gracefully
// and returns every sample of reg: counters and gauges by value,
// histograms by their count (their sums are times).
func isoRun(t *testing.T, sets []isoSet, milvusOpts ...interceptor.MilvusOption) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m := registry.New()
	require.NoError(t, m.Register(reg))
	var ss interceptor.ServerSets
	for _, s := range sets {
		var err error
		switch s {
		case isoMilvus:
			methods, merr := methodmap.Default(m)
			require.NoError(t, merr)
			ss.Milvus, err = interceptor.NewMilvusCounters(methods, milvusOpts...)
		case isoProvider:
			ss.Provider, err = interceptor.NewServerMetrics()
		case isoMilvus26:
			ss.Milvus26, err = interceptor.NewMilvus26()
		case isoA66:
			ss.A66, err = interceptor.NewA66()
		}
		require.NoError(t, err)
	}
	install, err := interceptor.NewServerInstall(ss)
	require.NoError(t, err)
	require.NoError(t, install.Register(reg))
	gs := grpc.NewServer(append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor())}, install.ServerOptions()...)...)
	rootcoordpb.RegisterRootCoordServer(gs, isoRootCoord{})
	require.NoError(t, install.Init(gs))
	lis := bufconn.Listen(1 << 20)
	served := make(chan error, 1)
	go func() { served <- gs.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	rc := rootcoordpb.NewRootCoordClient(conn)
	for _, name := range []string{"ok", "ok", "fail", "retry", "error", "panic", "ok"} {
		//nolint:errcheck // the outcomes are counted, not returned
		rc.CreateCollection(context.Background(), &milvuspb.CreateCollectionRequest{
			Base: &commonpb.MsgBase{SourceID: 3}, DbName: "db", CollectionName: name,
		})
	}
	_, err = rc.DropCollection(context.Background(), &milvuspb.DropCollectionRequest{})
	require.Equal(t, codes.Unimplemented, grpcstatus.Code(err))
	require.NoError(t, conn.Close())
	gs.GracefulStop() // grpc-go ends a call (A66's End) after its status is written
	require.NoError(t, <-served)
	return isoSamples(t, reg)
}

// isoSamples flattens what reg gathers into name{labels} → value.
func isoSamples(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(labels)
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// isoCompare checks that every sample of alone is in together with the
// same value: a set counts in one install with others as it counts alone.
func isoCompare(t *testing.T, set isoSet, alone, together map[string]float64) {
	t.Helper()
	require.NotEmpty(t, alone)
	for k, v := range alone {
		got, ok := together[k]
		if assert.True(t, ok, "%v: %s is missing when the sets are installed together", set, k) {
			assert.Equal(t, v, got, "%v: %s", set, k)
		}
	}
}

// TestEverySetInOneInstallCountsAsAlone installs the four sets of a server
// in one ServerInstall and each in an install of its own, runs the same
// calls through each over bufconn, and checks that every series of a set
// alone has the same value beside the others.
func TestEverySetInOneInstallCountsAsAlone(t *testing.T) {
	together := isoRun(t, []isoSet{isoMilvus, isoProvider, isoMilvus26, isoA66})
	for s := range isoNumSets {
		t.Run(s.String(), func(t *testing.T) {
			isoCompare(t, s, isoRun(t, []isoSet{s}), together)
		})
	}
}

// TestClassifierPanicLeavesOtherSets gives the Milvus counters a
// classifier that panics for CreateCollection: the Milvus counters count
// each such call as fail, and the provider's families and Milvus 2.6's
// counters count it as each alone would (a fine response is OK and
// success, a status of code 8 is retry), not as a failed call.
func TestClassifierPanicLeavesOtherSets(t *testing.T) {
	panicking := interceptor.WithOutcome(enCreate, func(any, error) interceptor.Outcome { panic("a classifier's bug") })
	together := isoRun(t, []isoSet{isoMilvus, isoProvider, isoMilvus26}, panicking)
	for _, s := range []isoSet{isoMilvus, isoProvider, isoMilvus26} {
		t.Run(s.String(), func(t *testing.T) {
			isoCompare(t, s, isoRun(t, []isoSet{s}, panicking), together)
		})
	}
	// The Milvus counters themselves: every call fails, the panicking one too.
	assert.Equal(t, 7.0, together[fmt.Sprintf("milvus_rootcoord_create_collection_total{client_id=client_3,type=%s}", registry.FailLabel)])
}
