package grpcmetrics_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
)

// multiJob is the scrape job of the instances, as in
// examples/prometheus/prometheus.yml: one job for every metric set, which
// the generated rules of monitoring/ select by metric name.
const multiJob = "demo"

// multiInstance is one of several instances and the calls made to it.
type multiInstance struct {
	stack    *promStack
	ok, fail int
}

// multiStart starts three instances, each serving its own /metrics, and
// makes a different known number of calls on each (multiCalls). The second
// serves OpenMetrics, the others the text format only (prSettings): every
// check is per instance, so each runs on both, as in a fleet that is
// turning OpenMetrics on one instance at a time.
func multiStart(t *testing.T) []multiInstance {
	t.Helper()
	insts := make([]multiInstance, 3)
	for i := range insts {
		insts[i].stack = promNewStack(t, i == 1)
		multiCalls(t, &insts[i], 2+3*i, 1+i)
	}
	return insts
}

// multiCalls makes ok successful and then fail failing (error_code)
// rootcoord CreateCollection calls on in, from two clients in turn, checks
// that each ended as meant and adds them to in's counts.
func multiCalls(t *testing.T, in *multiInstance, ok, fail int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for n := range ok + fail {
		callCtx := ctx
		if n >= ok {
			callCtx = fault.AppendToOutgoingContext(ctx, fault.ErrorCode)
		}
		st, err := in.stack.rc.CreateCollection(callCtx, &milvuspb.CreateCollectionRequest{
			Base: &commonpb.MsgBase{SourceID: int64(1 + n%2)}, CollectionName: fmt.Sprintf("multi_%d", in.ok+in.fail+n),
		})
		require.NoError(t, err, "call %d", n)
		require.Equal(t, n >= ok, st.GetErrorCode() != 0, "call %d: status %v", n, st)
	}
	in.ok += ok
	in.fail += fail
}

// multiTargets returns the /metrics addresses of insts.
func multiTargets(insts []multiInstance) []string {
	targets := make([]string, len(insts))
	for i, in := range insts {
		targets[i] = in.stack.metrics
	}
	return targets
}

// multiRules is the absolute path of the example recording rules.
func multiRules(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("examples", "prometheus", "rules.yml"))
	require.NoError(t, err)
	return path
}

// waitVector polls query on srv until its result, keyed by the value of
// label, equals want, and fails the test with the last result after
// promtest.Patience.
func waitVector(t *testing.T, srv *promtest.Server, query, label string, want map[string]float64) {
	t.Helper()
	promtest.Await(t, query+" by "+label, func(ctx context.Context) (bool, string) {
		samples, err := promtest.Query(ctx, srv.URL, query)
		if err != nil {
			return false, err.Error()
		}
		got := map[string]float64{}
		for _, s := range samples {
			got[s.Metric[label]] += s.Value
		}
		return assert.ObjectsAreEqual(want, got), fmt.Sprintf("got %v, want %v", got, want)
	})
}

// multiCheck checks on srv, which holds the instances' series through
// whatever path, that the raw counters summed by instance and the example
// recording rules equal the calls made.
func multiCheck(t *testing.T, srv *promtest.Server, insts []multiInstance) {
	t.Helper()
	total, ok, fail := map[string]float64{}, map[string]float64{}, map[string]float64{}
	for _, in := range insts {
		total[in.stack.metrics] = float64(in.ok + in.fail)
		ok[in.stack.metrics] = float64(in.ok)
		fail[in.stack.metrics] = float64(in.fail)
	}
	sel := fmt.Sprintf(`{job=%q, type=%%q}`, multiJob)
	for _, c := range []struct {
		query string
		want  map[string]float64
	}{
		{`sum by (instance) (milvus_rootcoord_create_collection_total` + fmt.Sprintf(sel, "total") + `)`, total},
		{`sum by (instance) (milvus_rootcoord_create_collection_total` + fmt.Sprintf(sel, "success") + `)`, ok},
		{`sum by (instance) (milvus_rootcoord_create_collection_total` + fmt.Sprintf(sel, "fail") + `)`, fail},
		{`instance:milvus_rootcoord_create_collection_total:sum` + fmt.Sprintf(sel, "total"), total},
		{`instance:milvus_rootcoord_create_collection_total:sum` + fmt.Sprintf(sel, "success"), ok},
		{`instance:milvus_rootcoord_create_collection_total:sum` + fmt.Sprintf(sel, "fail"), fail},
	} {
		waitVector(t, srv, c.query, "instance", c.want)
	}
	// Two clients per instance: the rule drops client_id, the raw series
	// keep it.
	waitVector(t, srv, `count by (instance) (milvus_rootcoord_create_collection_total`+fmt.Sprintf(sel, "total")+`)`, "instance",
		map[string]float64{insts[0].stack.metrics: 2, insts[1].stack.metrics: 2, insts[2].stack.metrics: 2})
}

// multiCheckRate makes more calls on the first instance, now that srv has
// seen the earlier ones, checks the sums again and that the rate rule, which
// needs a counter to move between two samples, turns positive.
func multiCheckRate(t *testing.T, srv *promtest.Server, insts []multiInstance) {
	t.Helper()
	multiCalls(t, &insts[0], 4, 1)
	multiCheck(t, srv, insts)
	query := fmt.Sprintf(`job:milvus_rootcoord_create_collection:rate5m{job=%q, type="total"}`, multiJob)
	promtest.Await(t, query, func(ctx context.Context) (bool, string) {
		samples, err := promtest.Query(ctx, srv.URL, query)
		if err != nil {
			return false, err.Error()
		}
		return len(samples) == 1 && samples[0].Value > 0, fmt.Sprintf("%v, want one positive sample", samples)
	})
}

// TestManyInstances has one real Prometheus scrape three instances, with
// the example recording rules loaded, and checks per instance sums and the
// rules against the calls made. It runs alone, as every test here that
// runs a Prometheus.
func TestManyInstances(t *testing.T) {
	bin := promtest.RequireBinary(t, "prometheus")
	insts := multiStart(t)
	srv := promtest.Start(t, bin, promtest.Config{
		Jobs:      []promtest.Job{{Name: multiJob, Targets: multiTargets(insts)}},
		RuleFiles: []string{multiRules(t)},
	})
	multiCheck(t, srv, insts)
	multiCheckRate(t, srv, insts)
}

// TestAgentToCentral runs the tiered layout of examples/prometheus/agent.yml:
// a Prometheus agent scrapes three instances and remote-writes to a central
// Prometheus, which evaluates the example recording rules; the central's
// answers must equal the calls made. It runs alone, as every test here
// that runs a Prometheus.
func TestAgentToCentral(t *testing.T) {
	bin := promtest.RequireBinary(t, "prometheus")
	insts := multiStart(t)
	central := promtest.StartReceiver(t, bin, promtest.Config{RuleFiles: []string{multiRules(t)}})
	agent := promtest.StartAgent(t, bin, promtest.Config{
		Jobs: []promtest.Job{{Name: multiJob, Targets: multiTargets(insts)}},
	}, central.URL+promtest.RemoteWritePath)
	multiCheck(t, central, insts)
	multiCheckRate(t, central, insts)

	// The agent itself answers no queries: the series are only central.
	_, err := promtest.Query(context.Background(), agent.URL, `up`)
	assert.Error(t, err, "an agent should not answer queries")
}

// TestHAPairToCentral runs the tiered layout with a highly available pair:
// two agents, told apart by their external label replica, scrape the same
// three instances and remote-write to one central Prometheus, which holds
// two copies of every series. The example's instance: rule must still
// equal the calls made per instance, not twice as many. It runs alone, as
// every test here that runs a Prometheus.
func TestHAPairToCentral(t *testing.T) {
	bin := promtest.RequireBinary(t, "prometheus")
	insts := multiStart(t)
	central := promtest.StartReceiver(t, bin, promtest.Config{RuleFiles: []string{multiRules(t)}})
	for _, replica := range []string{"a", "b"} {
		promtest.StartAgent(t, bin, promtest.Config{
			Jobs:           []promtest.Job{{Name: multiJob, Targets: multiTargets(insts)}},
			ExternalLabels: map[string]string{"replica": replica},
		}, central.URL+promtest.RemoteWritePath)
	}
	total, copies := map[string]float64{}, map[string]float64{}
	for _, in := range insts {
		total[in.stack.metrics] = float64(in.ok + in.fail)
		copies[in.stack.metrics] = 2
	}
	sel := fmt.Sprintf(`{job=%q, type="total"}`, multiJob)
	// Two copies of each instance's series reach the central...
	waitVector(t, central, `count by (instance) (count by (instance, replica) (milvus_rootcoord_create_collection_total`+sel+`))`, "instance", copies)
	// ...and the rule counts each instance's calls once.
	waitVector(t, central, `instance:milvus_rootcoord_create_collection_total:sum`+sel, "instance", total)
}

// TestExamplePrometheusConfigs checks the example configurations and rules
// with promtool (which also checks that the rule files they name exist),
// from the repository's root and from another working directory (rule
// files are read relative to the configuration's folder), that they load
// the generated rules of every flavour, and that the configurations that
// scrape use multiJob, one job for every metric set.
func TestExamplePrometheusConfigs(t *testing.T) {
	dir := filepath.Join("examples", "prometheus")
	for _, name := range []string{"prometheus.yml", "agent.yml"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		jobs := regexp.MustCompile(`(?m)^\s*- job_name: *"?([^"\s#]+)`).FindAllStringSubmatch(string(data), -1)
		require.NotEmpty(t, jobs, name)
		for _, j := range jobs {
			assert.Equal(t, multiJob, j[1], "%s scrapes job %s", name, j[1])
		}
	}
	bin := promtest.RequireBinary(t, "promtool")
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	elsewhere := t.TempDir()
	flavours := []string{"milvus", "generic", "milvus26", "a66"}
	for _, tt := range []struct {
		name   string
		cwd    string
		args   []string
		loaded []string // rule files the output must name
	}{
		{"prometheus.yml", "", []string{"check", "config", filepath.Join(dir, "prometheus.yml")}, flavours},
		{"prometheus.yml from elsewhere", elsewhere, []string{"check", "config", filepath.Join(abs, "prometheus.yml")}, flavours},
		{"central.yml", "", []string{"check", "config", filepath.Join(dir, "central.yml")}, flavours},
		{"central.yml from elsewhere", elsewhere, []string{"check", "config", filepath.Join(abs, "central.yml")}, flavours},
		{"agent.yml", "", []string{"check", "config", "--agent", filepath.Join(dir, "agent.yml")}, nil},
		{"rules.yml", "", []string{"check", "rules", filepath.Join(dir, "rules.yml")}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out bytes.Buffer
			cmd := exec.CommandContext(ctx, bin, tt.args...)
			cmd.Dir = tt.cwd
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Run(), out.String())
			assert.Contains(t, out.String(), "SUCCESS")
			for _, f := range tt.loaded {
				assert.Contains(t, out.String(), filepath.Join("monitoring", "rules", f+".rules.yml")+"\n  SUCCESS", "the %s flavour's rules", f)
			}
			if tt.loaded != nil {
				// A Milvus 2.6 line's rules replace the flavour's: loaded
				// beside them they would record the same series twice.
				assert.NotContains(t, out.String(), "milvus26-v2.6.21.rules.yml", "the line's rules loaded beside the flavour's")
			}
		})
	}
}
