package monitoring_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestPromtoolCheckRules runs "promtool check rules" on every checked-in
// rule file.
func TestPromtoolCheckRules(t *testing.T) {
	for _, file := range ruleFiles() {
		t.Run(filepath.Base(file), func(t *testing.T) {
			out := promtool(t, ".", "check", "rules", file)
			t.Log(out)
		})
	}
}

// TestPromtoolTestRules runs the checked-in promtool unit tests, which show
// every alert of each rule file firing and staying quiet.
func TestPromtoolTestRules(t *testing.T) {
	t.Parallel()
	for _, c := range mixin.Variants() {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			promtool(t, "rules", "test", "rules", c.Name()+"_test.yml")
		})
	}
}

// TestEveryAlertIsUnitTested reads each rule file and its promtool test
// file and requires, for every alert, a test case where it fires and one
// where it stays quiet.
func TestEveryAlertIsUnitTested(t *testing.T) {
	for _, c := range mixin.Variants() {
		t.Run(c.Name(), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("rules", c.Name()+"_test.yml"))
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
			assert.Equal(t, []string{c.Name() + ".rules.yml"}, tests.RuleFiles)
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
