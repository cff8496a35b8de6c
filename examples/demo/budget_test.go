package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// The factors of the series budget in docs/metrics.md: the series one
// child of each histogram costs (its classic buckets, +Inf, _sum and
// _count).
const (
	// budgetLatency is grpcmetrics' handling-time histogram with
	// interceptor.DefaultBuckets (17 bounds).
	budgetLatency = 17 + 3
	// budgetA66Duration is A66's duration histograms (41 bounds).
	budgetA66Duration = 41 + 3
	// budgetA66Size is A66's message-size histograms (14 bounds).
	budgetA66Size = 14 + 3
	// budgetA66Server is what one (method, code) pair of a server costs in
	// A66: its duration histogram and its two size histograms.
	budgetA66Server = budgetA66Duration + 2*budgetA66Size
	// budgetA66Client is what one (method, target, code) triple of a client
	// costs in A66: the attempt's and the call's duration histograms, and
	// the attempt's two size histograms.
	budgetA66Client = 2*budgetA66Duration + 2*budgetA66Size
	// budgetMilvus26Latency is Milvus 2.6's latency histograms (18 bounds,
	// milliseconds).
	budgetMilvus26Latency = 18 + 3
)

// budgetScrape is one scrape of the demo's /metrics: its text, as
// Prometheus reads it, and its families.
type budgetScrape struct {
	body []byte
	mfs  map[string]*dto.MetricFamily
}

// scrapeBudget runs the demo with every set and its workload, and scrapes
// /metrics once.
func scrapeBudget(t *testing.T) (*demo, budgetScrape) {
	t.Helper()
	d := startDemo(t, loopback())
	workload(context.Background(), d.proxy, d.rc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
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
	require.NoError(t, err)
	return d, budgetScrape{body: body, mfs: mfs}
}

// linesBySet counts the sample lines of the text exposition by set: the
// series Prometheus stores from one scrape.
func (s budgetScrape) linesBySet(t *testing.T) map[string]int {
	t.Helper()
	n := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(s.body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok {
				if mf := s.mfs[base]; mf != nil && mf.GetType() == dto.MetricType_HISTOGRAM {
					name = base
				}
			}
		}
		n[setOf(name)]++
	}
	require.NoError(t, sc.Err())
	return n
}

// children returns the number of children (label sets) of the family.
func (s budgetScrape) children(name string) int {
	return len(s.mfs[name].GetMetric())
}

// distinct returns the number of distinct tuples of the values of labels
// among the family's children.
func (s budgetScrape) distinct(name string, labels ...string) int {
	seen := map[string]bool{}
	for _, m := range s.mfs[name].GetMetric() {
		var key []string
		for _, l := range labels {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == l {
					key = append(key, lp.GetValue())
				}
			}
		}
		seen[strings.Join(key, "\x00")] = true
	}
	return len(seen)
}

// TestSeriesBudget checks the series budget of docs/metrics.md against a
// real scrape of the demo: for each set, its formula, fed with the calls'
// parameters (methods, (method, code) pairs, tenants, clients, collections)
// read from the set's counters, must give the number of series the set has
// on /metrics within 5%. The histograms, which are most of the series, are
// predicted from the counters, not counted; the demo's own count (printed
// at start) must equal the scrape's.
func TestSeriesBudget(t *testing.T) {
	d, s := scrapeBudget(t)
	got := s.linesBySet(t)
	own, err := seriesBySet(d.reg)
	require.NoError(t, err)
	for set, n := range got {
		// The handler's own series move with the scrapes themselves.
		if set != setOther {
			assert.Equal(t, n, own[set], "the demo's count of %s", set)
		}
	}

	// Milvus v2.0: total, success and fail for each route called, and for
	// each (route, client_id) of the RootCoord routes; two fixed series per
	// install (client-ID overflow, tracked client IDs); the hand-set gauges.
	milvusRoutes, milvusGauges := 0, 0
	for name, mf := range s.mfs {
		if setOf(name) != setMilvus || !strings.HasPrefix(name, "milvus_") {
			continue
		}
		if mf.GetType() != dto.MetricType_COUNTER {
			milvusGauges += len(mf.GetMetric())
			continue
		}
		milvusRoutes += s.distinct(name, "client_id")
	}
	installs := s.children("grpcmetrics_client_ids")

	// The provider's server families: per (method, tenant) started, two
	// message counters and in flight; per (method, code, tenant) handled;
	// per (method, tenant) whose OK calls' bodies failed, one more; per
	// (method, code) the histogram (the code is on it, the tenant is not);
	// three fixed series per install. The client side: per method started
	// and two message counters, per (method, code) handled, per failing
	// method one, per method the histogram.
	providerServer := 4*s.children("grpc_server_started_total") +
		s.children("grpc_server_handled_total") +
		s.children("grpcmetrics_server_response_failed_total") +
		s.distinct("grpc_server_handled_total", "server", "grpc_service", "grpc_method", "grpc_code")*budgetLatency +
		3*s.children("grpcmetrics_server_calls_before_init_total")
	providerClient := 3*s.children("grpc_client_started_total") +
		s.children("grpc_client_handled_total") +
		s.children("grpcmetrics_client_response_failed_total") +
		s.children("grpc_client_started_total")*budgetLatency

	// A66, from the provider's counts of the same calls: per method called
	// one started series and per (method, code) the three histograms on a
	// server; per (method, target) one attempts-started series and per
	// (method, target, code) four histograms on a client.
	a66 := s.distinct("grpc_server_handled_total", "server", "grpc_service", "grpc_method") +
		s.distinct("grpc_server_handled_total", "server", "grpc_service", "grpc_method", "grpc_code")*budgetA66Server +
		s.children("grpc_client_started_total") +
		s.children("grpc_client_handled_total")*budgetA66Client

	// Milvus 2.6: per (function, collection pair) total and each status a
	// call ended with; per function that succeeded, the latency histogram;
	// two fixed series per install.
	milvus26 := s.children("milvus_proxy_req_count") + s.children("milvus_rootcoord_ddl_req_count") +
		(s.children("milvus_proxy_req_latency")+s.children("milvus_rootcoord_ddl_req_latency"))*budgetMilvus26Latency +
		2*s.children("grpcmetrics_collections")

	for _, tt := range []struct {
		set     string
		formula int
	}{
		{setMilvus, 3*milvusRoutes + 2*installs + milvusGauges},
		{setProvider, providerServer + providerClient},
		{setA66, a66},
		{setMilvus26, milvus26},
	} {
		t.Run(tt.set, func(t *testing.T) {
			t.Logf("%s: %d series on /metrics, %d by the formula", tt.set, got[tt.set], tt.formula)
			require.Positive(t, got[tt.set])
			assert.LessOrEqual(t, math.Abs(float64(tt.formula-got[tt.set])), 0.05*float64(got[tt.set]),
				"formula %d, scrape %d", tt.formula, got[tt.set])
		})
	}
	assert.Len(t, interceptor.DefaultBuckets(), budgetLatency-3, "the latency histogram's bounds")
}
