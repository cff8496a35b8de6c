package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
)

// requireClientsEnv is the environment variable that makes a missing
// grpcurl or ghz fail the tests that drive the demo with them, instead of
// skipping them. .ci/run installs both and sets it.
const requireClientsEnv = "GRPCMETRICS_REQUIRE_CLIENTS"

// requireTool returns the path of the named external client, skipping the
// test when it is missing unless requireClientsEnv is set.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(requireClientsEnv) != "" {
			t.Fatalf("%s is required (%s is set): %v", name, requireClientsEnv, err)
		}
		t.Skipf("%s not installed (set %s to fail instead)", name, requireClientsEnv)
	}
	return path
}

// runTool runs bin with args and returns its stdout, its stderr and its
// exit code; only a failure to run it at all is an error.
func runTool(ctx context.Context, bin string, args ...string) (stdout, stderr string, code int, err error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), errOut.String(), exit.ExitCode(), nil
	}
	return out.String(), errOut.String(), 0, err
}

// delta returns after - before for every key of after that moved.
func delta(before, after map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for k, v := range after {
		if v != before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}

// milvusCounters keeps the series of Milvus v2.0's counters.
func milvusCounters(counters map[string]float64) map[string]float64 {
	m := map[string]float64{}
	for k, v := range counters {
		if dmMilvus20(k) {
			m[k] = v
		}
	}
	return m
}

// statusFailed reports whether a response printed by grpcurl as JSON
// carries a failing Milvus status, whole or in its status field. grpcurl
// leaves out fields at their zero value, so a success prints neither
// errorCode nor code.
func statusFailed(t *testing.T, out string) bool {
	t.Helper()
	var resp map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &resp), "grpcurl output %q", out)
	st := resp
	if raw, ok := resp["status"]; ok {
		require.NoError(t, json.Unmarshal(raw, &st))
	}
	_, hasErrorCode := st["errorCode"]
	_, hasCode := st["code"]
	return hasErrorCode || hasCode
}

// TestGRPCurl drives the demo with grpcurl through gRPC reflection: it
// lists both servers' services, then makes one grpcurl invocation per row
// and checks that the counters on /metrics moved by exactly what grpcurl
// saw: one total per invocation, success when grpcurl exited 0 with a
// status that does not fail, fail otherwise.
func TestGRPCurl(t *testing.T) {
	bin := requireTool(t, "grpcurl")
	d := startDemo(t, loopback())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	for _, tt := range []struct {
		server, addr string
		want         []string
	}{
		{"proxy", d.proxyAddr(), []string{"grpc.reflection.v1.ServerReflection", "milvus.proto.milvus.MilvusService", "milvus.proto.proxy.Proxy"}},
		{"rootcoord", d.rootCoordAddr(), []string{"grpc.reflection.v1.ServerReflection", "milvus.proto.rootcoord.RootCoord"}},
	} {
		t.Run("list "+tt.server, func(t *testing.T) {
			out, errOut, code, err := runTool(ctx, bin, "-plaintext", tt.addr, "list")
			require.NoError(t, err)
			require.Zero(t, code, "grpcurl list: %s", errOut)
			assert.Subset(t, strings.Fields(out), tt.want)
		})
	}

	before := milvusCounters(scrape(t, d.metricsAddr()))
	want := map[string]float64{}
	for _, c := range []struct {
		name, addr, method, data string
		fault                    fault.Mode
		metric, clientID         string
		wantFail                 bool // what grpcurl must see; the counters follow what it saw
	}{
		{"create", d.rootCoordAddr(), "milvus.proto.rootcoord.RootCoord/CreateCollection", `{"base":{"sourceID":"42"},"collectionName":"books"}`, fault.None,
			"milvus_rootcoord_create_collection_total", "client_42", false},
		{"create again", d.rootCoordAddr(), "milvus.proto.rootcoord.RootCoord/CreateCollection", `{"base":{"sourceID":"42"},"collectionName":"books"}`, fault.None,
			"milvus_rootcoord_create_collection_total", "client_42", true},
		{"create error", d.rootCoordAddr(), "milvus.proto.rootcoord.RootCoord/CreateCollection", `{"base":{"sourceID":"42"},"collectionName":"films"}`, fault.Error,
			"milvus_rootcoord_create_collection_total", "client_42", true},
		{"has", d.rootCoordAddr(), "milvus.proto.rootcoord.RootCoord/HasCollection", `{"base":{"sourceID":"42"},"collectionName":"books"}`, fault.None,
			"milvus_rootcoord_has_collection_total", "client_42", false},
		{"has, no base", d.rootCoordAddr(), "milvus.proto.rootcoord.RootCoord/HasCollection", `{"collectionName":"books"}`, fault.None,
			"milvus_rootcoord_has_collection_total", "client_unknown", false},
		{"show code", d.rootCoordAddr(), "milvus.proto.rootcoord.RootCoord/ShowCollections", `{"base":{"sourceID":"43"}}`, fault.Code,
			"milvus_rootcoord_show_collections_total", "client_43", true},
		{"proxy has", d.proxyAddr(), "milvus.proto.milvus.MilvusService/HasCollection", `{"collectionName":"books"}`, fault.None,
			"milvus_proxy_has_collection_total", "", false},
		{"proxy describe missing", d.proxyAddr(), "milvus.proto.milvus.MilvusService/DescribeCollection", `{"collectionName":"books"}`, fault.None,
			"milvus_proxy_describe_collection_total", "", true},
		{"proxy panic", d.proxyAddr(), "milvus.proto.milvus.MilvusService/Dummy", `{"requestType":"ping"}`, fault.Panic,
			"milvus_proxy_dummy_total", "", true},
	} {
		args := []string{"-plaintext", "-d", c.data}
		if c.fault != fault.None {
			args = append(args, "-H", fmt.Sprintf("%s: %s", fault.MetadataKey, c.fault))
		}
		out, errOut, code, err := runTool(ctx, bin, append(args, c.addr, c.method)...)
		require.NoError(t, err, c.name)
		failed := code != 0 || statusFailed(t, out)
		require.Equal(t, c.wantFail, failed, "%s: grpcurl exited %d: %s%s", c.name, code, out, errOut)
		l, outcome := callLabel(c.metric), "success"
		if failed {
			outcome = "fail"
		}
		want[key(c.metric, c.clientID, l, "total")]++
		want[key(c.metric, c.clientID, l, outcome)]++
	}
	assert.Equal(t, want, delta(before, milvusCounters(scrape(t, d.metricsAddr()))))
}

// ghzReport is the part of ghz's JSON report the test reads.
type ghzReport struct {
	Count                  int            `json:"count"`
	StatusCodeDistribution map[string]int `json:"statusCodeDistribution"`
}

// TestGhz loads the demo with ghz through gRPC reflection, with and without
// injected gRPC errors and panics, and checks that the counters on /metrics
// moved by exactly what ghz reports: its count of calls as total, its OK
// responses as success and every other status code as fail.
func TestGhz(t *testing.T) {
	bin := requireTool(t, "ghz")
	d := startDemo(t, loopback())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	before := milvusCounters(scrape(t, d.metricsAddr()))
	want := map[string]float64{}
	for _, r := range []struct {
		name, addr, method, data string
		fault                    fault.Mode
		n                        int
		metric, clientID         string
	}{
		{"rootcoord has", d.rootCoordAddr(), "milvus.proto.rootcoord.RootCoord/HasCollection", `{"base":{"sourceID":"7"},"collectionName":"books"}`, fault.None, 300,
			"milvus_rootcoord_has_collection_total", "client_7"},
		{"rootcoord has error", d.rootCoordAddr(), "milvus.proto.rootcoord.RootCoord/HasCollection", `{"base":{"sourceID":"7"},"collectionName":"books"}`, fault.Error, 40,
			"milvus_rootcoord_has_collection_total", "client_7"},
		{"rootcoord has other client", d.rootCoordAddr(), "milvus.proto.rootcoord.RootCoord/HasCollection", `{"base":{"sourceID":"8"},"collectionName":"books"}`, fault.None, 100,
			"milvus_rootcoord_has_collection_total", "client_8"},
		{"proxy show", d.proxyAddr(), "milvus.proto.milvus.MilvusService/ShowCollections", `{}`, fault.None, 200,
			"milvus_proxy_show_collections_total", ""},
		{"proxy show panic", d.proxyAddr(), "milvus.proto.milvus.MilvusService/ShowCollections", `{}`, fault.Panic, 20,
			"milvus_proxy_show_collections_total", ""},
	} {
		args := []string{"--insecure", "--call", r.method, "-d", r.data, "-n", fmt.Sprint(r.n), "-c", "4", "--format", "json"}
		if r.fault != fault.None {
			args = append(args, "-m", fmt.Sprintf(`{%q:%q}`, fault.MetadataKey, r.fault))
		}
		out, errOut, code, err := runTool(ctx, bin, append(args, r.addr)...)
		require.NoError(t, err, r.name)
		require.Zero(t, code, "%s: ghz: %s", r.name, errOut)
		var rep ghzReport
		require.NoError(t, json.Unmarshal([]byte(out), &rep), "%s: ghz report %q", r.name, out)
		require.Equal(t, r.n, rep.Count, "%s: ghz made another number of calls than asked", r.name)
		ok := rep.StatusCodeDistribution["OK"]
		if r.fault == fault.None {
			require.Equal(t, r.n, ok, "%s: status codes %v", r.name, rep.StatusCodeDistribution)
		} else {
			require.Zero(t, ok, "%s: status codes %v", r.name, rep.StatusCodeDistribution)
		}
		l := callLabel(r.metric)
		want[key(r.metric, r.clientID, l, "total")] += float64(rep.Count)
		want[key(r.metric, r.clientID, l, "success")] += float64(ok)
		if fails := rep.Count - ok; fails > 0 {
			want[key(r.metric, r.clientID, l, "fail")] += float64(fails)
		}
	}
	assert.Equal(t, want, delta(before, milvusCounters(scrape(t, d.metricsAddr()))))
}
