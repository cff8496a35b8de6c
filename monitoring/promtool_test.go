package monitoring_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
	"github.com/grpcmetrics/grpcmetrics/monitoring/mixin"
)

// ruleFiles are the checked-in rule files, one per flavour.
func ruleFiles() []string {
	var files []string
	for _, c := range mixin.Variants() {
		files = append(files, filepath.Join("rules", c.Name()+".rules.yml"))
	}
	return files
}

// promtool runs promtool with args in dir and fails the test, with its
// output, if it does not exit 0.
func promtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	bin := promtest.RequireBinary(t, "promtool")
	ctx, cancel := context.WithTimeout(context.Background(), promtest.Patience)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestPromtoolCheckRules runs "promtool check rules monitoring/rules/*.yml"
// from the root of the repository, the glob as a user types it into a
// shell: every file the glob reaches must be a valid rule file, and the
// glob must reach every checked-in rule file.
func TestPromtoolCheckRules(t *testing.T) {
	matches, err := filepath.Glob(filepath.Join("rules", "*.yml"))
	require.NoError(t, err)
	assert.ElementsMatch(t, ruleFiles(), matches, "what rules/*.yml reaches")
	bin := promtest.RequireBinary(t, "promtool")
	ctx, cancel := context.WithTimeout(context.Background(), promtest.Patience)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", `"$0" check rules monitoring/rules/*.yml`, bin)
	cmd.Dir = ".." // the root of the repository
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool check rules monitoring/rules/*.yml:\n%s", out)
	for _, f := range ruleFiles() {
		assert.Contains(t, string(out), "Checking monitoring/"+filepath.ToSlash(f), "promtool checked %s", f)
	}
	t.Log(string(out))
}

// TestPrometheusLoadsRulesGlob starts a real Prometheus whose rule_files is
// the glob rules/*.yml of this folder, as a user would load the generated
// rules: it must become ready and have loaded every group of every rule
// file, from that file.
func TestPrometheusLoadsRulesGlob(t *testing.T) {
	bin := promtest.RequireBinary(t, "prometheus")
	dir, err := filepath.Abs("rules")
	require.NoError(t, err)
	srv := promtest.Start(t, bin, promtest.Config{RuleFiles: []string{filepath.Join(dir, "*.yml")}})

	want := map[string][]string{} // group name: "file: rule names"
	for _, c := range mixin.Variants() {
		file := filepath.Join(dir, c.Name()+".rules.yml")
		for _, g := range readRules(t, c.Name()).Groups {
			var names []string
			for _, r := range g.Rules {
				names = append(names, r.Record+r.Alert)
			}
			want[g.Name] = append([]string{file}, names...)
		}
	}
	require.NotEmpty(t, want)
	ctx, cancel := context.WithTimeout(context.Background(), promtest.Patience)
	defer cancel()
	groups, err := promtest.Rules(ctx, srv.URL)
	require.NoError(t, err)
	got := map[string][]string{}
	for _, g := range groups {
		got[g.Name] = append([]string{g.File}, g.Rules...)
	}
	assert.Equal(t, want, got)
}

// TestPromtoolTestRules runs the checked-in promtool unit tests of
// rules-tests/, which show every alert of each rule file firing and staying
// quiet.
func TestPromtoolTestRules(t *testing.T) {
	t.Parallel()
	for _, c := range mixin.Variants() {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			promtool(t, "rules-tests", "test", "rules", c.Name()+"_test.yml")
		})
	}
}

// TestEveryAlertIsUnitTested reads each rule file and its promtool test
// file and requires, for every alert, a test case where it fires and one
// where it stays quiet.
func TestEveryAlertIsUnitTested(t *testing.T) {
	for _, c := range mixin.Variants() {
		t.Run(c.Name(), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("rules-tests", c.Name()+"_test.yml"))
			require.NoError(t, err)
			var tests struct {
				RuleFiles []string `yaml:"rule_files"`
				Tests     []struct {
					AlertRuleTest []struct {
						Alertname string `yaml:"alertname"`
						ExpAlerts []any  `yaml:"exp_alerts"`
					} `yaml:"alert_rule_test"`
				} `yaml:"tests"`
			}
			require.NoError(t, yaml.Unmarshal(data, &tests))
			assert.Equal(t, []string{"../rules/" + c.Name() + ".rules.yml"}, tests.RuleFiles)
			fires, quiet := map[string]bool{}, map[string]bool{}
			for _, tc := range tests.Tests {
				for _, a := range tc.AlertRuleTest {
					if len(a.ExpAlerts) > 0 {
						fires[a.Alertname] = true
					} else {
						quiet[a.Alertname] = true
					}
				}
			}
			alerts := 0
			for _, g := range readRules(t, c.Name()).Groups {
				for _, r := range g.Rules {
					if r.Alert == "" {
						continue
					}
					alerts++
					assert.True(t, fires[r.Alert], "no test shows %s firing", r.Alert)
					assert.True(t, quiet[r.Alert], "no test shows %s quiet", r.Alert)
				}
			}
			assert.NotZero(t, alerts)
		})
	}
}
