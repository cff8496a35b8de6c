package monitoring_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
	"github.com/grpcmetrics/grpcmetrics/monitoring/mixin"
)

// check is one query the real-data test runs, and what makes its answer
// sane.
type check struct {
	name     string // flavour/panel/refId or flavour/rule
	job      string
	expr     string // template variables substituted
	ratio    bool   // every value in [0, 1]
	positive bool   // some value > 0: traffic flows through it
	latency  bool   // reads the latency histogram
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
		}
		anyPositive = anyPositive || s.Value > 0
	}
	if c.positive && !anyPositive {
		return fmt.Sprintf("all %d values are 0, want traffic", len(samples))
	}
	return ""
}

// dashboardChecks reads every panel query of a checked-in dashboard.
func dashboardChecks(t *testing.T, f mixin.Flavour, job string) []check {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("dashboards", string(f)+".json"))
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
				name:     string(f) + "/" + p.Title + "/" + tg.RefID,
				job:      job,
				expr:     substitute(tg.Expr, job),
				ratio:    unit == "percentunit",
				positive: unit == "reqps" || unit == "short",
				latency:  strings.Contains(tg.Expr, mixin.HandlingSecondsBucket),
			})
		}
	}
	require.Len(t, checks, len(queries))
	return checks
}

// readRules reads a checked-in rule file.
func readRules(t *testing.T, f mixin.Flavour) mixin.RuleFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("rules", string(f)+".rules.yml"))
	require.NoError(t, err)
	var rf mixin.RuleFile
	require.NoError(t, yaml.Unmarshal(data, &rf))
	return rf
}

// ruleChecks reads every recording rule of a checked-in rule file.
func ruleChecks(t *testing.T, f mixin.Flavour, job string) []check {
	t.Helper()
	var checks []check
	for _, g := range readRules(t, f).Groups {
		for _, r := range g.Rules {
			if r.Record == "" {
				continue
			}
			name := r.Record
			if m := r.Labels["grpc_method"]; m != "" {
				name += "{" + r.Labels["grpc_service"] + "/" + m + "}"
			}
			checks = append(checks, check{
				name:  string(f) + "/" + name,
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

// TestQueriesOnRealData serves the example servers with traffic in both
// flavours (grpcmetrics with the Milvus table; go-grpc-middleware's provider
// for the generic names), has a real Prometheus scrape them every second
// with both checked-in rule files loaded, and runs every dashboard query
// (template variables substituted) and every recording rule's expression
// through the query API: each must answer with a non-empty vector of finite,
// non-negative values, ratios within [0, 1], and rates above 0 where traffic
// flows. Latency panels are skipped, saying so, for a job that exports no
// grpc_server_handling_seconds_bucket series. The alert expressions must
// evaluate without error.
func TestQueriesOnRealData(t *testing.T) {
	t.Parallel()
	bin := promtest.RequireBinary(t, "prometheus")
	milvus := newMilvusStack(t)
	generic := newGenericStack(t)
	tctx, stopTraffic := context.WithCancel(context.Background())
	wait := traffic(tctx, 100*time.Millisecond, milvus, generic)
	t.Cleanup(func() { // before the servers stop
		stopTraffic()
		n := wait()
		t.Logf("traffic: %d calls, %d came back with an error", n.calls, n.errors)
	})

	jobs := map[mixin.Flavour]string{}
	var ruleFiles []string
	for _, f := range mixin.Flavours() {
		jobs[f] = mixin.DefaultConfig(f).Job
		abs, err := filepath.Abs(filepath.Join("rules", string(f)+".rules.yml"))
		require.NoError(t, err)
		ruleFiles = append(ruleFiles, abs)
	}
	srv := promtest.Start(t, bin, promtest.Config{
		Jobs: []promtest.Job{
			{Name: jobs[mixin.Milvus], Targets: []string{milvus.metrics}},
			{Name: jobs[mixin.Generic], Targets: []string{generic.metrics}},
		},
		RuleFiles: ruleFiles,
	})

	var checks []check
	for _, f := range mixin.Flavours() {
		checks = append(checks, dashboardChecks(t, f, jobs[f])...)
		checks = append(checks, ruleChecks(t, f, jobs[f])...)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	query := func(expr string) ([]promtest.Sample, error) {
		qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
		defer qcancel()
		return promtest.Query(qctx, srv.URL, expr)
	}

	// Wait until both jobs' per-method rates are recorded: from then on
	// every series that exists has been scraped at least twice.
	for _, job := range jobs {
		expr := fmt.Sprintf("%s{job=%q} > 0", mixin.RequestsRate, job)
		for {
			s, err := query(expr)
			if err == nil && len(s) > 0 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: no answer after 90s (last error: %v)\nprometheus output:\n%s", expr, err, srv.Out.String())
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	hasHistogram := map[string]bool{}
	for _, job := range jobs {
		s, err := query(fmt.Sprintf("count(%s{job=%q})", mixin.HandlingSecondsBucket, job))
		require.NoError(t, err)
		hasHistogram[job] = len(s) > 0
	}
	if s, err := query(fmt.Sprintf("count(%s{job=%q})", mixin.ResponseFailedTotal, jobs[mixin.Generic])); err != nil || len(s) == 0 {
		t.Logf("NOTE: job %s exports no %s (go-grpc-middleware's provider has no such counter; grpcmetrics' generic mode will): "+
			"the generic failed-rate rule counts non-OK codes only here", jobs[mixin.Generic], mixin.ResponseFailedTotal)
	}

	// Poll every check until its answer is sane, or the deadline passes.
	last := make([]string, len(checks))
	done := make([]bool, len(checks))
	for pending := len(checks); pending > 0 && ctx.Err() == nil; {
		for i, c := range checks {
			if done[i] || (c.latency && !hasHistogram[c.job]) {
				if !done[i] {
					done[i] = true
					pending--
				}
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
			time.Sleep(time.Second)
		}
	}

	skipped := 0
	skippedJobs := map[string]bool{}
	for i, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.latency && !hasHistogram[c.job] {
				skipped++
				skippedJobs[c.job] = true
				t.Skipf("no %s series for job %s: the latency histogram is not on there yet, so this latency panel cannot be proven", mixin.HandlingSecondsBucket, c.job)
			}
			if last[i] != "" {
				t.Errorf("%s\nquery: %s", last[i], c.expr)
			}
		})
	}
	if skipped > 0 {
		names := slices.Sorted(maps.Keys(skippedJobs))
		t.Logf("SKIPPED %d latency queries of job(s) %v: no %s series there, the histogram is not on yet", skipped, names, mixin.HandlingSecondsBucket)
	}

	// Alert expressions run without error on the same data.
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, f := range mixin.Flavours() {
		for _, g := range readRules(t, f).Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				_, err := query(r.Expr)
				assert.NoError(t, err, "%s %s", f, r.Alert)
			}
		}
	}
	t.Logf("%d queries checked against a real Prometheus, %d of them skipped", len(checks), skipped)
}
