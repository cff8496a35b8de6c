package monitoring_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
	"github.com/grpcmetrics/grpcmetrics/monitoring/mixin"
)

// realDataInterval is how often the real-data tests' Prometheus scrapes
// and evaluates rules. The in-process servers serve /metrics under the race
// detector, a megabyte or more for gRPC's own metrics (A66) over every
// method: on a busy two-core machine a scrape of one takes seconds, and a
// scrape that takes longer than the interval fails.
const realDataInterval = 5 * time.Second

// realDataCallEvery paces the traffic of each in-process server: a call
// every 100 ms reaches each of the 49 methods every 5 s, so every rate
// over a minute moves, and leaves the cores to the servers and Prometheus.
const realDataCallEvery = 100 * time.Millisecond

// check is one query the real-data test runs, and what makes its answer
// sane.
type check struct {
	name     string // flavour/panel/refId or flavour/rule
	job      string
	expr     string // template variables substituted
	ratio    bool   // every value in [0, 1]
	positive bool   // some value > 0: traffic flows through it
	zero     bool   // every value is 0: a comparison that found no difference
}

// verdict says what is wrong with samples for c, or "" if they are sane.
func (c check) verdict(samples []promtest.Sample) string {
	if len(samples) == 0 {
		return "empty result"
	}
	anyPositive := false
	for _, s := range samples {
		switch {
		case math.IsNaN(s.Value) || math.IsInf(s.Value, 0):
			return fmt.Sprintf("non-finite value %v for %v", s.Value, s.Metric)
		case s.Value < 0:
			return fmt.Sprintf("negative value %v for %v", s.Value, s.Metric)
		case c.ratio && s.Value > 1:
			return fmt.Sprintf("ratio %v > 1 for %v", s.Value, s.Metric)
		case c.zero && s.Value != 0:
			return fmt.Sprintf("value %v for %v, want 0", s.Value, s.Metric)
		}
		anyPositive = anyPositive || s.Value > 0
	}
	if c.positive && !anyPositive {
		return fmt.Sprintf("all %d values are 0, want traffic", len(samples))
	}
	return ""
}

// dashboardChecks reads every panel query of a checked-in dashboard, for
// job and the one instance whose label is instance.
func dashboardChecks(t *testing.T, name, job, instance string) []check {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("dashboards", name+".json"))
	require.NoError(t, err)
	var d struct {
		Panels []struct {
			Type        string `json:"type"`
			Title       string `json:"title"`
			FieldConfig struct {
				Defaults struct {
					Unit string `json:"unit"`
				} `json:"defaults"`
			} `json:"fieldConfig"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(data, &d))
	queries, err := mixin.Queries(data) // validates: every panel has queries, none empty
	require.NoError(t, err)
	var checks []check
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		unit := p.FieldConfig.Defaults.Unit
		for _, tg := range p.Targets {
			checks = append(checks, check{
				name:     name + "/" + instance + "/" + p.Title + "/" + tg.RefID,
				job:      job,
				expr:     substitute(tg.Expr, job, prPromQLRegexp(instance)),
				ratio:    unit == "percentunit",
				positive: unit == "reqps" || unit == "short",
			})
		}
	}
	require.Len(t, checks, len(queries))
	return checks
}

// prPromQLRegexp returns a regular expression that matches s alone, quoted
// for a PromQL string: host:port's dots escaped, and the escapes doubled.
func prPromQLRegexp(s string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(s), `\`, `\\`)
}

// readRules reads the checked-in rule file of name (mixin.Config.Name).
func readRules(t *testing.T, name string) mixin.RuleFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("rules", name+".rules.yml"))
	require.NoError(t, err)
	var rf mixin.RuleFile
	require.NoError(t, yaml.Unmarshal(data, &rf))
	return rf
}

// ruleChecks reads every recording rule of a checked-in rule file.
func ruleChecks(t *testing.T, name, job string) []check {
	t.Helper()
	var checks []check
	for _, g := range readRules(t, name).Groups {
		for _, r := range g.Rules {
			if r.Record == "" {
				continue
			}
			rule := r.Record
			if m := r.Labels["grpc_method"]; m != "" {
				rule += "{" + r.Labels["grpc_service"] + "/" + m + "}"
			}
			checks = append(checks, check{
				name:  name + "/" + rule,
				job:   job,
				expr:  r.Expr,
				ratio: strings.Contains(r.Record, "error_ratio"),
				positive: r.Record == mixin.RequestsRate || r.Record == mixin.HandledRate ||
					r.Record == mixin.ClientRequestsRate || r.Record == mixin.JobHandledRate,
			})
		}
	}
	require.NotEmpty(t, checks)
	return checks
}

// queryOf returns a query of the server at url, each within 10 seconds and
// ctx.
func queryOf(ctx context.Context, url string) func(string) ([]promtest.Sample, error) {
	return func(expr string) ([]promtest.Sample, error) {
		qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
		defer qcancel()
		return promtest.Query(qctx, url, expr)
	}
}

// pollChecks runs every check through query until its answer is sane, or
// ctx is done, and returns what is wrong with each ("" when sane).
// Prometheus scrapes and evaluates every second, and says nothing when it
// has: the checks are asked again every half second.
func pollChecks(ctx context.Context, query func(string) ([]promtest.Sample, error), checks []check) []string {
	last := make([]string, len(checks))
	done := make([]bool, len(checks))
	for pending := len(checks); pending > 0 && ctx.Err() == nil; {
		for i, c := range checks {
			if done[i] {
				continue
			}
			samples, err := query(c.expr)
			if err != nil {
				last[i] = err.Error()
				continue
			}
			last[i] = c.verdict(samples)
			if last[i] == "" {
				done[i] = true
				pending--
			}
		}
		if pending > 0 {
			select { // the next scrape or evaluation
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	return last
}

// TestQueriesOnRealData runs a real Prometheus on the example layout of the
// root module (examples/prometheus/prometheus.yml as shipped, targets
// rewritten, see prExampleLayout), which must scrape one job and load the
// generated rules of every flavour, plus a job for each other flavour's
// in-process servers. The example job's first
// instance is the demo, which serves every metric set, (built from examples/demo) with steady traffic that
// calls every method of the Milvus table, its latency histogram on and a
// client limit below its number of clients; the second an in-process server
// counted the same way, with traffic, served in OpenMetrics. The generic
// job has two in-process servers counted by grpcmetrics' ServerMetrics
// (histogram on, Milvus status rule), with traffic, one served in the text
// format and one in OpenMetrics. The Milvus 2.6 job has two in-process
// servers counted by Milvus 2.6's request counters (a collection limit
// below the traffic's collections, and a rate limit now and then), with
// traffic: one with the set alone, in the text format; one with the set
// beside Milvus v2.0's counters in one install, in OpenMetrics. The A66 job
// has two in-process servers counted by gRPC's own metrics (the A66 set's
// stats handler, and its client side on the traffic's connection), with
// traffic: one with the set alone, in the text format; one with the set
// beside the provider's families and Milvus v2.0's counters in one
// install, in OpenMetrics. Prometheus scrapes them every realDataInterval;
// each in-process server's traffic is one call every realDataCallEvery.
//
// Every flavour's panels that read its recorded series must also answer
// for the demo's instance in the example job: one scrape job of an
// endpoint that serves every set feeds every dashboard.
//
// Every dashboard query, for each instance (template variables
// substituted), and every recording rule's expression goes through the
// query API: each must answer with a non-empty vector of finite,
// non-negative values, ratios within [0, 1], and rates above 0 where
// traffic flows. The generic job's grpcmetrics_server_response_failed_total
// must move. The alert expressions must evaluate without error.
//
// The test runs alone (no t.Parallel), so that its servers, its traffic and
// its Prometheus have the machine's cores to themselves, and builds the demo
// before it starts anything. It queries once Prometheus has scraped every
// target three times, and it waits on what Prometheus answers, bounded only
// by [promtest.Patience].
func TestQueriesOnRealData(t *testing.T) {
	bin := promtest.RequireBinary(t, "prometheus")
	demoBin := buildDemo(t) // before anything starts: a cold build takes the cores
	// The in-process servers of each flavour have a job of their own; the
	// example layout's one job serves the demo, every set at once.
	jobs := map[mixin.Flavour]string{mixin.Generic: "grpc", mixin.Milvus26: "milvus26", mixin.A66: "a66"}

	// The example layout meets the generated files, or following the
	// README's multi-instance section and then importing the dashboards
	// gives empty panels: one job, and every flavour's rules loaded.
	layout := prReadExampleLayout(t)
	require.Len(t, layout.jobs(), 1, "the example layout's scrape jobs")
	exampleJob := layout.jobs()[0]
	jobs[mixin.Milvus] = exampleJob
	for _, f := range mixin.Flavours() {
		abs, err := filepath.Abs(filepath.Join("rules", string(f)+".rules.yml"))
		require.NoError(t, err)
		loaded := false
		for _, pattern := range layout.RuleFiles {
			ok, err := filepath.Match(pattern, abs)
			require.NoError(t, err)
			loaded = loaded || ok
		}
		assert.True(t, loaded, "the example layout's rule files %v do not load %s", layout.RuleFiles, abs)
	}
	// A Milvus 2.6 line's rules replace the flavour's (same series, same
	// grpcmetrics_flavour): the layout must not load them beside it.
	for _, v := range mixin.Variants() {
		if v.Name() == string(v.Flavour) {
			continue
		}
		abs, err := filepath.Abs(filepath.Join("rules", v.Name()+".rules.yml"))
		require.NoError(t, err)
		for _, pattern := range layout.RuleFiles {
			ok, err := filepath.Match(pattern, abs)
			require.NoError(t, err)
			assert.False(t, ok, "the example layout's rule file %s loads %s beside %s.rules.yml", pattern, abs, v.Flavour)
		}
	}

	milvusDemo := startDemo(t, demoBin)
	milvusOM := prNewMilvusStack(t, true)
	generic := []*stack{newGenericStack(t, false), newGenericStack(t, true)}
	milvus26 := []*stack{mmNewMilvus26Stack(t, false, false), mmNewMilvus26Stack(t, true, true)}
	a66 := []*stack{arNewA66Stack(t, false, false), arNewA66Stack(t, true, true)}
	tctx, stopTraffic := context.WithCancel(context.Background())
	var waits []func() trafficCount
	for _, s := range append(append(append([]*stack{milvusOM}, generic...), milvus26...), a66...) {
		waits = append(waits, traffic(tctx, realDataCallEvery, s))
	}
	t.Cleanup(func() { // before the servers stop
		stopTraffic()
		for i, wait := range waits {
			n := wait()
			t.Logf("in-process traffic %d: %d calls, %d came back with an error", i, n.calls, n.errors)
		}
	})

	milvusInstances := layout.instances(t, exampleJob, 2)
	layout.setTargets(t, exampleJob, []string{milvusDemo, milvusOM.metrics})
	layout.addJob(jobs[mixin.Generic], []string{generic[0].metrics, generic[1].metrics})
	layout.addJob(jobs[mixin.Milvus26], []string{milvus26[0].metrics, milvus26[1].metrics})
	layout.addJob(jobs[mixin.A66], []string{a66[0].metrics, a66[1].metrics})
	srv := promtest.StartYAML(t, bin, layout.yaml(t))
	t.Logf("job %s: %s is the demo (text format), %s in-process (OpenMetrics); job %s: %s text format, %s OpenMetrics",
		exampleJob, milvusInstances[0], milvusInstances[1], jobs[mixin.Generic], generic[0].metrics, generic[1].metrics)
	t.Logf("job %s: %s the set alone (text format), %s beside Milvus v2.0's counters in one install (OpenMetrics)",
		jobs[mixin.Milvus26], milvus26[0].metrics, milvus26[1].metrics)
	t.Logf("job %s: %s the set alone (text format), %s beside the provider's families and Milvus v2.0's counters in one install (OpenMetrics)",
		jobs[mixin.A66], a66[0].metrics, a66[1].metrics)

	instances := map[mixin.Flavour][]string{
		mixin.Milvus:   milvusInstances,
		mixin.Generic:  {generic[0].metrics, generic[1].metrics},
		mixin.Milvus26: {milvus26[0].metrics, milvus26[1].metrics},
		mixin.A66:      {a66[0].metrics, a66[1].metrics},
	}
	var checks []check
	for _, f := range mixin.Flavours() {
		for _, inst := range instances[f] {
			checks = append(checks, dashboardChecks(t, string(f), jobs[f], inst)...)
		}
		checks = append(checks, ruleChecks(t, string(f), jobs[f])...)
		if f != mixin.Milvus {
			// One scrape job of the demo, which serves every set, feeds
			// every flavour's dashboard: the panels that read the
			// flavour's recorded series answer for the demo's instance.
			for _, c := range dashboardChecks(t, string(f), exampleJob, milvusInstances[0]) {
				if strings.Contains(c.expr, mixin.FlavourLabel) {
					checks = append(checks, c)
				}
			}
		}
	}
	// Failing statuses in OK responses reach the generic flavour's failed
	// rate only through this counter.
	checks = append(checks, check{
		name:     string(mixin.Generic) + "/" + mixin.ResponseFailedTotal,
		job:      jobs[mixin.Generic],
		expr:     fmt.Sprintf("sum by (job) (rate(%s{job=%q}[1m]))", mixin.ResponseFailedTotal, jobs[mixin.Generic]),
		positive: true,
	})
	// The generic job's server is called only through its own counted
	// connection, so what the outgoing panels read must agree with what
	// the server counted, to within the calls in flight at a scrape: 1 if
	// the client's rate differs from the server's by more than 10%.
	for _, pair := range [][2]string{
		{mixin.ClientStartedTotal, mixin.StartedTotal},
		{mixin.ClientHandledTotal, mixin.HandledTotal},
	} {
		rate := func(metric string) string {
			return fmt.Sprintf("sum by (job) (rate(%s{job=%q}[1m]))", metric, jobs[mixin.Generic])
		}
		checks = append(checks, check{
			name: string(mixin.Generic) + "/" + pair[0] + " agrees with " + pair[1],
			job:  jobs[mixin.Generic],
			expr: fmt.Sprintf("abs(%s - %s) > bool 0.1 * %s", rate(pair[0]), rate(pair[1]), rate(pair[1])),
			zero: true,
		})
	}
	// The A66 job's second server counts every call into gRPC's own
	// metrics and the provider's families from one install: the finished
	// calls of both must agree, to within the calls in flight at a scrape.
	{
		rate := func(metric string) string {
			return fmt.Sprintf("sum by (job) (rate(%s{job=%q, instance=%q}[1m]))", metric, jobs[mixin.A66], a66[1].metrics)
		}
		checks = append(checks, check{
			name: string(mixin.A66) + "/" + mixin.A66ServerDurationCount + " agrees with " + mixin.HandledTotal,
			job:  jobs[mixin.A66],
			expr: fmt.Sprintf("abs(%s - %s) > bool 0.1 * %s", rate(mixin.A66ServerDurationCount), rate(mixin.HandledTotal), rate(mixin.HandledTotal)),
			zero: true,
		})
	}

	// Every target scraped three times: two samples for a rate, and one
	// more for a rate that moved.
	targets := 0
	for _, in := range instances {
		targets += len(in)
	}
	srv.WaitScraped(t, targets, 3)

	// Poll every check until its answer is sane, or Patience passes.
	start := time.Now()
	last := make([]string, len(checks))
	done := make([]bool, len(checks))
	pending := len(checks)
	state, _ := promtest.Poll(func(ctx context.Context) (bool, string) {
		for i, c := range checks {
			if done[i] {
				continue
			}
			samples, err := promtest.Query(ctx, srv.URL, c.expr)
			if err != nil {
				last[i] = err.Error()
				continue
			}
			last[i] = c.verdict(samples)
			if last[i] == "" {
				done[i] = true
				pending--
			}
		}
		return pending == 0, fmt.Sprintf("%d queries not sane yet", pending)
	})
	t.Logf("%d of %d queries sane after %v (%s)", len(checks)-pending, len(checks), time.Since(start).Round(100*time.Millisecond), state)

	for i, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if last[i] != "" {
				t.Errorf("%s\nquery: %s", last[i], c.expr)
			}
		})
	}

	// Alert expressions run without error on the same data.
	ctx, cancel := context.WithTimeout(context.Background(), promtest.Patience)
	defer cancel()
	query := queryOf(ctx, srv.URL)
	for _, f := range mixin.Flavours() {
		for _, g := range readRules(t, string(f)).Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				_, err := query(r.Expr)
				assert.NoError(t, err, "%s %s", f, r.Alert)
			}
		}
	}
	t.Logf("%d queries checked against a real Prometheus, none skipped", len(checks))
}
