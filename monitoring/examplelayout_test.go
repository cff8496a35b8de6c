package monitoring_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// prExampleDir is the example Prometheus layout of the root module, which
// loads this module's generated rules.
const prExampleDir = "../examples/prometheus"

// prExampleLayout is the example's prometheus.yml as shipped, made runnable
// by a test: scrapes and rule evaluations every [realDataInterval] instead of every 15s,
// rule files by absolute path (the example names them relative to its own
// folder), and the targets of each scrape job replaced by the test's
// servers, in order, each keeping the labels (instance) of the target it
// replaces; target groups beyond the test's servers are dropped.
type prExampleLayout struct {
	Global        map[string]any   `yaml:"global"`
	RuleFiles     []string         `yaml:"rule_files"`
	ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
}

// prReadExampleLayout reads examples/prometheus/prometheus.yml. Its rule files
// become absolute paths.
func prReadExampleLayout(t *testing.T) *prExampleLayout {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(prExampleDir, "prometheus.yml"))
	require.NoError(t, err)
	var l prExampleLayout
	require.NoError(t, yaml.Unmarshal(data, &l))
	for i, f := range l.RuleFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(prExampleDir, f)
		}
		abs, err := filepath.Abs(f)
		require.NoError(t, err)
		l.RuleFiles[i] = abs
	}
	return &l
}

// jobs returns the names of the scrape jobs, in order.
func (l *prExampleLayout) jobs() []string {
	var names []string
	for _, sc := range l.ScrapeConfigs {
		name, _ := sc["job_name"].(string) //nolint:errcheck // a missing name is "", which the tests report
		names = append(names, name)
	}
	return names
}

// instances returns the instance labels of job's target groups, in order,
// up to n of them.
func (l *prExampleLayout) instances(t *testing.T, job string, n int) []string {
	t.Helper()
	var out []string
	for _, g := range l.staticConfigs(t, job) {
		labels, _ := g["labels"].(map[string]any) //nolint:errcheck // no labels: no instance label
		inst, _ := labels["instance"].(string)    //nolint:errcheck // checked below
		require.NotEmpty(t, inst, "job %s: a target group without an instance label", job)
		out = append(out, inst)
		if len(out) == n {
			break
		}
	}
	require.Len(t, out, n, "job %s has fewer target groups than the test has servers", job)
	return out
}

// staticConfigs returns the static target groups of job.
func (l *prExampleLayout) staticConfigs(t *testing.T, job string) []map[string]any {
	t.Helper()
	for _, sc := range l.ScrapeConfigs {
		if sc["job_name"] != job {
			continue
		}
		raw, ok := sc["static_configs"].([]any)
		require.True(t, ok, "job %s has no static_configs", job)
		var groups []map[string]any
		for _, g := range raw {
			m, ok := g.(map[string]any)
			require.True(t, ok, "job %s: a static config is %T", job, g)
			groups = append(groups, m)
		}
		return groups
	}
	t.Fatalf("the example scrapes no job %q (it scrapes %v)", job, l.jobs())
	return nil
}

// setTargets points job's target groups, in order, at addrs, one each, and
// drops the groups beyond them.
func (l *prExampleLayout) setTargets(t *testing.T, job string, addrs []string) {
	t.Helper()
	groups := l.staticConfigs(t, job)
	require.GreaterOrEqual(t, len(groups), len(addrs), "job %s has fewer target groups than the test has servers", job)
	var out []any
	for i, addr := range addrs {
		groups[i]["targets"] = []string{addr}
		out = append(out, groups[i])
	}
	for _, sc := range l.ScrapeConfigs {
		if sc["job_name"] == job {
			sc["static_configs"] = out
		}
	}
}

// addJob adds a scrape job of its own, beside the example's.
func (l *prExampleLayout) addJob(name string, targets []string) {
	l.ScrapeConfigs = append(l.ScrapeConfigs, map[string]any{
		"job_name":       name,
		"static_configs": []any{map[string]any{"targets": targets}},
	})
}

// yaml renders the layout for Prometheus, with every interval at
// realDataInterval.
func (l *prExampleLayout) yaml(t *testing.T) string {
	t.Helper()
	if l.Global == nil {
		l.Global = map[string]any{}
	}
	for _, k := range []string{"scrape_interval", "scrape_timeout", "evaluation_interval"} {
		l.Global[k] = model.Duration(realDataInterval).String()
	}
	out, err := yaml.Marshal(l)
	require.NoError(t, err)
	return string(out)
}
