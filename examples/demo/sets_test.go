package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// dmSetFamilies returns, for each set, families that the demo's workload
// makes appear in the exposition.
func dmSetFamilies() map[string][]string {
	return map[string][]string{
		setMilvus:   {"milvus_proxy_create_collection_total", "milvus_rootcoord_create_collection_total", "grpcmetrics_client_ids"},
		setProvider: {"grpc_server_handled_total", "grpc_server_started_total", "grpc_server_in_flight", "grpcmetrics_server_context_labels_kept", "grpc_client_handled_total"},
		setA66:      {"grpc_server_call_duration_seconds", "grpc_server_call_started_total", "grpc_client_call_duration_seconds"},
		setMilvus26: {"milvus_proxy_req_count", "milvus_proxy_req_latency", "milvus_rootcoord_ddl_req_count"},
	}
}

// dmFamilies runs the demo's workload with the sets of flag and returns
// the families of its /metrics that have series.
func dmFamilies(t *testing.T, flag string) map[string]*dto.MetricFamily {
	t.Helper()
	cfg := loopback()
	var err error
	cfg.sets, err = parseSets(flag)
	require.NoError(t, err)
	d := startDemo(t, cfg)
	workload(context.Background(), d.proxy, d.rc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // only bounds a hang
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.metricsAddr()+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err, "%s", body)
	for name, mf := range mfs {
		if len(mf.GetMetric()) == 0 {
			delete(mfs, name)
		}
	}
	return mfs
}

// TestSetsSideBySide runs the demo with every set, and with each set
// alone, and checks that one scrape of /metrics has each picked set's
// families and none of the others'.
func TestSetsSideBySide(t *testing.T) {
	for _, tt := range []struct {
		flag   string
		picked []string
	}{
		{defaultSets, []string{setMilvus, setProvider, setA66, setMilvus26}},
		{setMilvus, []string{setMilvus}},
		{setProvider, []string{setProvider}},
		{setA66, []string{setA66}},
		{setMilvus26, []string{setMilvus26}},
		{"provider,milvus26", []string{setProvider, setMilvus26}},
	} {
		t.Run(tt.flag, func(t *testing.T) {
			got := dmFamilies(t, tt.flag)
			for set, families := range dmSetFamilies() {
				want := false
				for _, p := range tt.picked {
					want = want || p == set
				}
				for _, f := range families {
					assert.Equal(t, want, got[f] != nil, "set %s, family %s", set, f)
				}
			}
		})
	}
}

func TestParseSets(t *testing.T) {
	for _, tt := range []struct {
		flag    string
		want    metricSets
		wantErr string
	}{
		{flag: defaultSets, want: metricSets{milvus: true, provider: true, a66: true, milvus26: true}},
		{flag: "a66", want: metricSets{a66: true}},
		{flag: " milvus , milvus26 ", want: metricSets{milvus: true, milvus26: true}},
		{flag: "", wantErr: `-sets "" names no set`},
		{flag: ",", wantErr: `-sets "," names no set`},
		{flag: "milvus,otel", wantErr: `-sets: unknown set "otel"`},
	} {
		t.Run(tt.flag, func(t *testing.T) {
			got, err := parseSets(tt.flag)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestFirstScreenSets checks that the table comes first whatever the sets:
// without Milvus v2.0's counters it shows the calls that the other sets
// counted.
func TestFirstScreenSets(t *testing.T) {
	for _, tt := range []struct {
		flag string
		row  string
	}{
		{setProvider, `(?m)^\s*grpc_server_handled_total\{grpc_method="CreateCollection",grpc_service="milvus.proto.rootcoord.RootCoord",grpc_type="unary"\}\s+6\s+6\s+0$`},
		{setA66, `(?m)^\s*grpc_server_call_duration_seconds\{grpc_method="milvus.proto.rootcoord.RootCoord/ShowCollections"\}\s+2\s+0\s+2$`},
		{setMilvus26, `(?m)^\s*milvus_rootcoord_ddl_req_count\{function_name="CreateCollection"\}\s+6\s+2\s+4$`},
	} {
		t.Run(tt.flag, func(t *testing.T) {
			cfg := loopback()
			var err error
			cfg.sets, err = parseSets(tt.flag)
			require.NoError(t, err)
			var out, logs strings.Builder
			cfg.logs = &logs
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // run stops right after printing
			require.NoError(t, run(ctx, cfg, &out))
			lines := strings.Split(out.String(), "\n")
			assert.Regexp(t, `^\s*metric\s+total\s+success\s+fail$`, lines[0], "the first line is the table's header")
			assert.Regexp(t, tt.row, out.String())
			assert.NotContains(t, out.String(), "milvus_proxy_create_collection_total")
			assert.Empty(t, logs.String())
		})
	}
}

// TestDemoProviderExtras checks the provider's options the demo turns on:
// the in-flight gauge, back to 0 once the workload (a panic among its
// calls) is done, and the code on the servers' histogram.
func TestDemoProviderExtras(t *testing.T) {
	mfs := dmFamilies(t, defaultSets)
	require.Contains(t, mfs, "grpc_server_in_flight")
	for _, m := range mfs["grpc_server_in_flight"].GetMetric() {
		assert.Zero(t, m.GetGauge().GetValue(), "%v", m.GetLabel())
	}
	require.Contains(t, mfs, "grpc_server_handling_seconds")
	codes := map[string]bool{}
	for _, m := range mfs["grpc_server_handling_seconds"].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "grpc_code" {
				codes[lp.GetValue()] = true
			}
		}
	}
	// Unknown: the panics, which the interceptor sees before recovery.
	assert.Equal(t, map[string]bool{"OK": true, "InvalidArgument": true, "Internal": true, "Unknown": true}, codes)
}

// TestDemoTenant checks the demo's context label: the provider's server
// families count each call under the tenant its metadata names, and the
// tenants beyond tenantLimit under the overflow value.
func TestDemoTenant(t *testing.T) {
	cfg := loopback()
	d := startDemo(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // only bounds a hang
	defer cancel()
	const tenants = tenantLimit + 3
	for i := range tenants {
		tctx := metadata.AppendToOutgoingContext(ctx, tenantKey, fmt.Sprintf("flood_%d", i))
		_, err := d.proxy.HasCollection(tctx, &milvuspb.HasCollectionRequest{CollectionName: "t"})
		require.NoError(t, err)
	}
	byTenant := map[string]float64{}
	for k, v := range scrape(t, d.metricsAddr()) {
		if strings.HasPrefix(k, "grpc_server_handled_total{") && strings.Contains(k, `grpc_method="HasCollection"`) && strings.Contains(k, `server="proxy"`) {
			_, rest, ok := strings.Cut(k, `tenant="`)
			require.True(t, ok, k)
			tenant, _, _ := strings.Cut(rest, `"`)
			byTenant[tenant] += v
		}
	}
	assert.Len(t, byTenant, tenantLimit+1, "the kept tenants and the overflow: %v", byTenant)
	assert.Equal(t, float64(tenants-tenantLimit), byTenant[interceptor.ContextLabelOverflow])
	var sum float64
	for _, v := range byTenant {
		sum += v
	}
	assert.Equal(t, float64(tenants), sum, "every call counted once")
}
