package monitoring_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
	"github.com/grpcmetrics/grpcmetrics/monitoring/mixin"
)

// haValues are what TestHAPairCountsEachInstanceOnce reads on the central
// server at one evaluation: the recorded handled rate of the job, the raw
// rate of each replica's copy, and the raw rate over both copies.
type haValues struct {
	recorded, replicaA, replicaB, both float64
}

// readHA asks the central server at base for haValues of job in one query,
// so that every value is of one evaluation time. ok is false until each
// value exists.
func readHA(ctx context.Context, base, job string) (v haValues, ok bool, err error) {
	raw := func(matchers string) string {
		return fmt.Sprintf(`sum by (job) (rate(%s{job=%q%s}[5m]))`, mixin.HandledTotal, job, matchers)
	}
	q := fmt.Sprintf(`label_replace(%s{%s=%q, job=%q}, "v", "recorded", "", "")
or label_replace(%s, "v", "a", "", "")
or label_replace(%s, "v", "b", "", "")
or label_replace(%s, "v", "both", "", "")`,
		mixin.JobHandledRate, mixin.FlavourLabel, mixin.Generic, job,
		raw(`, replica="a"`), raw(`, replica="b"`), raw(""))
	samples, err := promtest.Query(ctx, base, q)
	if err != nil {
		return v, false, err
	}
	seen := 0
	for _, s := range samples {
		switch s.Metric["v"] {
		case "recorded":
			v.recorded = s.Value
		case "a":
			v.replicaA = s.Value
		case "b":
			v.replicaB = s.Value
		case "both":
			v.both = s.Value
		}
		if s.Value > 0 {
			seen++
		}
	}
	return v, seen == 4, nil
}

// TestHAPairCountsEachInstanceOnce runs a highly available pair: two
// Prometheus agents, told apart by their external label replica, scrape
// the same instance and remote-write to one central Prometheus, which
// evaluates the generic rules generated with ReplicaLabels ["replica"].
// The central holds two copies of every series; the recorded per-job rate
// must count the instance once (one replica's rate, not the sum of both).
func TestHAPairCountsEachInstanceOnce(t *testing.T) {
	// Not parallel: like every test here that runs a Prometheus, it runs
	// alone, on a machine of two cores.
	bin := promtest.RequireBinary(t, "prometheus")
	c := mixin.DefaultConfig(mixin.Generic)
	c.ReplicaLabels = []string{"replica"}
	rules, err := mixin.RulesYAML(c)
	require.NoError(t, err)
	ruleFile := filepath.Join(t.TempDir(), "generic.rules.yml")
	require.NoError(t, os.WriteFile(ruleFile, rules, 0o600))

	s := newGenericStack(t, false)
	ctx, stop := context.WithCancel(context.Background())
	wait := traffic(ctx, 100*time.Millisecond, s)
	t.Cleanup(func() {
		stop()
		n := wait()
		t.Logf("traffic: %d calls, %d came back with an error", n.calls, n.errors)
	})

	const job = "grpc"
	central := promtest.StartReceiver(t, bin, promtest.Config{RuleFiles: []string{ruleFile}})
	for _, replica := range []string{"a", "b"} {
		promtest.StartAgent(t, bin, promtest.Config{
			Jobs:           []promtest.Job{{Name: job, Targets: []string{s.metrics}}},
			ExternalLabels: map[string]string{"replica": replica},
		}, central.URL+promtest.RemoteWritePath)
	}

	// Wait until the central holds five scrapes of each replica's copy,
	// so that the rates have a few samples behind them, and then until
	// both copies and the recorded rate are there: events, each wait
	// bounded by promtest.Patience.
	central.WaitScraped(t, 2, 5)
	var v haValues
	promtest.Await(t, "both replicas' copies and the recorded rate exist", func(ctx context.Context) (bool, string) {
		var ok bool
		var err error
		v, ok, err = readHA(ctx, central.URL, job)
		if err != nil {
			return false, err.Error()
		}
		return ok, fmt.Sprintf("%+v", v)
	})
	t.Logf("handled calls per second of job %s: recorded %.3g; replica a %.3g, replica b %.3g; both copies summed %.3g (what a rule without replica labels records)",
		job, v.recorded, v.replicaA, v.replicaB, v.both)
	// The replicas scrape at their own times, so their rates differ a
	// little; the recorded rate is the larger one, and must be far nearer
	// to it than to their sum.
	one := max(v.replicaA, v.replicaB)
	require.Greater(t, v.both, 1.4*one, "the central holds two copies of each series")
	require.Less(t, math.Abs(v.recorded-one), math.Abs(v.recorded-v.both)/2, "the recorded rate counts the instance once: %+v", v)
}
