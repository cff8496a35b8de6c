package grpcmetrics_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// omUnknownCounters are the counters that OpenMetrics serves as
// "# TYPE <name> unknown", because their names do not end in _total, as
// the OpenMetrics notes list them: three of Milvus v2.0's names and Milvus
// 2.6's request counters, the proxy's and the rootcoord's.
var omUnknownCounters = []string{
	"milvus_proxy_create_index_counter",
	"milvus_proxy_describe_index_counter",
	"milvus_proxy_get_index_state_counter",
	"milvus_proxy_req_count",
	"milvus_rootcoord_ddl_req_count",
}

// omNotes are the files whose OpenMetrics notes name the counters typed
// unknown, each with a line that starts the note.
var omNotes = map[string]string{
	filepath.Join("httpserver", "options.go"):  "A counter whose name does not end in _total",
	filepath.Join("interceptor", "latency.go"): "counters whose name does not end in _total",
	filepath.Join("docs", "wiring.md"):         "A counter whose name does not end in `_total`",
	filepath.Join("docs", "metrics.md"):        "Served in OpenMetrics",
}

// TestOpenMetricsUnknownTypes serves Milvus v2.0's counters and Milvus
// 2.6's (the proxy's and, WithRootCoordDDL, the rootcoord's), each with a
// series, in OpenMetrics to a real Prometheus, and checks that the
// counters Prometheus records as "unknown" are exactly omUnknownCounters,
// which every OpenMetrics note names.
func TestOpenMetricsUnknownTypes(t *testing.T) {
	bin := promtest.RequireBinary(t, "prometheus")
	v20 := prometheus.NewRegistry()
	m := registry.New()
	require.NoError(t, m.Register(v20))
	table, err := methodmap.Default(m)
	require.NoError(t, err)
	_, err = interceptor.New(table) // Milvus v2.0's counters start at zero
	require.NoError(t, err)
	gatherers := prometheus.Gatherers{v20}
	for _, tc := range []struct {
		name   string
		opts   []interceptor.Milvus26Option
		method string
	}{
		{"proxy", []interceptor.Milvus26Option{interceptor.WithNodeID(1)}, "/milvus.proto.milvus.MilvusService/HasCollection"},
		{"rootcoord", []interceptor.Milvus26Option{interceptor.WithRootCoordDDL()}, "/milvus.proto.rootcoord.RootCoord/HasCollection"},
	} {
		reg := prometheus.NewRegistry()
		set, err := interceptor.NewMilvus26(tc.opts...)
		require.NoError(t, err)
		// The two sets' own families, such as the collection overflow
		// counter, share names: a label tells them apart.
		require.NoError(t, set.Register(prometheus.WrapRegistererWith(prometheus.Labels{"server": tc.name}, reg)))
		_, err = set.UnaryServerInterceptor()(context.Background(), &milvuspb.HasCollectionRequest{CollectionName: "c"},
			&grpc.UnaryServerInfo{FullMethod: tc.method},
			func(context.Context, any) (any, error) {
				return &milvuspb.BoolResponse{Status: &commonpb.Status{}}, nil
			})
		require.NoError(t, err)
		gatherers = append(gatherers, reg)
	}
	mfs, err := gatherers.Gather()
	require.NoError(t, err)
	var counters []string
	for _, mf := range mfs {
		if mf.GetType() == dto.MetricType_COUNTER {
			counters = append(counters, mf.GetName())
		}
	}
	for _, name := range omUnknownCounters {
		require.Contains(t, counters, name, "the exposition has no %s", name)
	}

	addr := promtest.ServeMetricsWith(t, gatherers, httpserver.Options{OpenMetrics: true})
	srv := promtest.Start(t, bin, promtest.Config{Jobs: []promtest.Job{{Name: "openmetrics", Targets: []string{addr}}}})
	srv.WaitScraped(t, 1, 1)
	ctx, cancel := context.WithTimeout(context.Background(), promtest.Patience)
	defer cancel()
	types, err := promtest.Metadata(ctx, srv.URL)
	require.NoError(t, err)
	var unknown []string
	for _, name := range counters {
		// OpenMetrics names a counter's family without _total.
		typ, ok := types[strings.TrimSuffix(name, "_total")]
		require.True(t, ok, "Prometheus has no type for %s: %v", name, types)
		switch typ {
		case "unknown":
			unknown = append(unknown, name)
		case "counter":
		default:
			t.Errorf("%s: type %q", name, typ)
		}
	}
	slices.Sort(unknown)
	assert.Equal(t, omUnknownCounters, unknown, "the counters Prometheus records as unknown")

	for file, note := range omNotes {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		text := string(data)
		i := strings.Index(text, note)
		require.GreaterOrEqual(t, i, 0, "%s has no OpenMetrics note %q", file, note)
		// The note runs to the next blank line (comment prefixes aside).
		end := strings.Index(text[i:], "\n\n")
		if end < 0 {
			end = len(text) - i
		}
		for _, name := range omUnknownCounters {
			assert.Contains(t, text[i:i+end], name, "the OpenMetrics note of %s", file)
		}
	}
}
