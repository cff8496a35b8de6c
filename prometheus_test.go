package grpcmetrics_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// promRequireBinary returns the path of the named binary. It skips the test
// when the binary is missing, unless GRPCMETRICS_REQUIRE_PROMETHEUS is set,
// in which case the test fails.
func promRequireBinary(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		require.Empty(t, os.Getenv("GRPCMETRICS_REQUIRE_PROMETHEUS"),
			"%s is required (GRPCMETRICS_REQUIRE_PROMETHEUS is set): %v", name, err)
		t.Skipf("%s not installed", name)
	}
	return path
}

// promStack is the demo's wiring: the example proxy and rootcoord servers on
// loopback TCP behind recovery and the interceptor, and the /metrics server.
type promStack struct {
	proxy   milvuspb.MilvusServiceClient
	rc      rootcoordpb.RootCoordClient
	metrics string // host:port of the /metrics server
}

func promNewStack(t *testing.T) *promStack {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := registry.New()
	require.NoError(t, m.Register(reg))
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	ic, err := interceptor.New(methods,
		interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()),
		interceptor.WithClientID(interceptor.MilvusSourceID[*commonpb.MsgBase]()),
	)
	require.NoError(t, err)
	require.NoError(t, ic.Register(reg))
	chain := grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(), ic.UnaryServerInterceptor())

	proxyConn := promServe(t, proxy.New().NewGRPCServer(chain))
	rcConn := promServe(t, rootcoord.New().NewGRPCServer(chain))

	hs, err := httpserver.New(reg, httpserver.Options{Addr: "127.0.0.1:0"})
	require.NoError(t, err)
	require.NoError(t, hs.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, hs.Shutdown(ctx), "shutting down /metrics")
	})
	return &promStack{
		proxy:   milvuspb.NewMilvusServiceClient(proxyConn),
		rc:      rootcoordpb.NewRootCoordClient(rcConn),
		metrics: hs.Addr(),
	}
}

// promServe serves srv on a loopback TCP port and returns a client
// connection to it; both are stopped on cleanup.
func promServe(t *testing.T, srv *grpc.Server) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		<-done
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		assert.NoError(t, conn.Close(), "closing client")
		srv.GracefulStop()
		assert.NoError(t, <-done, "serve")
	})
	return conn
}

// promWant is the number of calls of each kind promWorkload makes.
type promWant struct {
	rcCreateOK, rcCreateFail, proxyHasOK, proxyHasFail int
}

// promWorkload makes a known number of calls and checks that each one came
// back as expected (a success, a failing status, or a gRPC error).
func promWorkload(t *testing.T, s *promStack) promWant {
	t.Helper()
	w := promWant{rcCreateOK: 6, rcCreateFail: 4, proxyHasOK: 5, proxyHasFail: 3}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bases := []*commonpb.MsgBase{{SourceID: 1}, {SourceID: 2}}
	for i := range w.rcCreateOK {
		st, err := s.rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{
			Base: bases[i%2], CollectionName: fmt.Sprintf("prom_coll_%d", i),
		})
		require.NoError(t, err, "rootcoord CreateCollection %d", i)
		require.Zero(t, st.GetErrorCode(), "rootcoord CreateCollection %d: %v", i, st)
		require.Zero(t, st.GetCode(), "rootcoord CreateCollection %d: %v", i, st)
	}
	for i := range w.rcCreateFail {
		st, err := s.rc.CreateCollection(fault.AppendToOutgoingContext(ctx, fault.ErrorCode), &milvuspb.CreateCollectionRequest{
			Base: bases[i%2], CollectionName: fmt.Sprintf("prom_fail_%d", i),
		})
		require.NoError(t, err, "rootcoord CreateCollection with fault %s %d", fault.ErrorCode, i)
		require.NotZero(t, st.GetErrorCode(), "rootcoord CreateCollection with fault %s %d: want a failing status, got %v", fault.ErrorCode, i, st)
	}
	for i := range w.proxyHasOK {
		resp, err := s.proxy.HasCollection(ctx, &milvuspb.HasCollectionRequest{
			Base: bases[i%2], CollectionName: fmt.Sprintf("prom_has_%d", i),
		})
		require.NoError(t, err, "proxy HasCollection %d", i)
		require.Zero(t, resp.GetStatus().GetErrorCode(), "proxy HasCollection %d: %v", i, resp)
		require.Zero(t, resp.GetStatus().GetCode(), "proxy HasCollection %d: %v", i, resp)
	}
	for i := range w.proxyHasFail {
		_, err := s.proxy.HasCollection(fault.AppendToOutgoingContext(ctx, fault.Error), &milvuspb.HasCollectionRequest{
			Base: bases[i%2], CollectionName: fmt.Sprintf("prom_has_%d", i),
		})
		require.Error(t, err, "proxy HasCollection with fault %s %d", fault.Error, i)
	}
	return w
}

// promFreePort returns a loopback address with a port that was free a
// moment ago.
func promFreePort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	return addr
}

// promSyncBuffer is a bytes.Buffer safe for the process's writers and the
// test's readers.
type promSyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *promSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *promSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// promStartServer runs a Prometheus server scraping target every second and
// returns its base URL and its captured output.
func promStartServer(t *testing.T, bin, target string) (string, *promSyncBuffer) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: grpcmetrics
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: [%q]
`, target)
	require.NoError(t, os.WriteFile(cfg, []byte(config), 0o600))
	listen := promFreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen,
	)
	out := &promSyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		require.NoError(t, err, "starting prometheus")
	}
	t.Cleanup(func() {
		cancel()       // kills the process
		_ = cmd.Wait() //nolint:errcheck // killed on purpose; its exit status says nothing
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	return "http://" + listen, out
}

// promQuery runs an instant query and returns the value of its single
// sample, or "" when the result is empty.
func promQuery(ctx context.Context, base, query string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("query %s: HTTP %d: %s", query, resp.StatusCode, body)
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", fmt.Errorf("query %s: decoding %s: %w", query, body, err)
	}
	if r.Status != "success" {
		return "", fmt.Errorf("query %s: status %q: %s", query, r.Status, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return "", fmt.Errorf("query %s: result type %q, want vector", query, r.Data.ResultType)
	}
	switch len(r.Data.Result) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", fmt.Errorf("query %s: %d samples, want 1: %s", query, len(r.Data.Result), body)
	}
	v := r.Data.Result[0].Value
	if len(v) != 2 {
		return "", fmt.Errorf("query %s: value %v is not [time, value]", query, v)
	}
	s, ok := v[1].(string)
	if !ok {
		return "", fmt.Errorf("query %s: value %v is not a string", query, v[1])
	}
	return s, nil
}

// TestRealPrometheus scrapes the served exposition with a real Prometheus
// server and checks exact counts through its query API.
func TestRealPrometheus(t *testing.T) {
	bin := promRequireBinary(t, "prometheus")
	s := promNewStack(t)
	w := promWorkload(t, s)
	base, out := promStartServer(t, bin, s.metrics)

	const successQuery = `sum(milvus_rootcoord_create_collection_total{type="success"})`
	want := fmt.Sprint(w.rcCreateOK)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var got string
	var lastErr error
	for got != want {
		qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
		got, lastErr = promQuery(qctx, base, successQuery)
		qcancel()
		if got == want {
			break
		}
		select {
		case <-ctx.Done():
			require.FailNow(t, "Prometheus never saw the calls",
				"%s: still %q (last error: %v), want %s after 60s\nprometheus output:\n%s", successQuery, got, lastErr, want, out.String())
		case <-tick.C:
		}
	}

	checks := []struct {
		query string
		want  int
	}{
		{successQuery, w.rcCreateOK},
		{`sum(milvus_rootcoord_create_collection_total{type="fail"})`, w.rcCreateFail},
		{`sum(milvus_rootcoord_create_collection_total{type="total"})`, w.rcCreateOK + w.rcCreateFail},
		{`sum(milvus_proxy_has_collection_total{status="success"})`, w.proxyHasOK},
		{`sum(milvus_proxy_has_collection_total{status="fail"})`, w.proxyHasFail},
		{`sum(milvus_proxy_has_collection_total{status="total"})`, w.proxyHasOK + w.proxyHasFail},
		{`count(milvus_rootcoord_create_collection_total{type="success"} > 0)`, 2}, // SourceID 1 and 2
	}
	for _, c := range checks {
		got, err := promQuery(ctx, base, c.query)
		if assert.NoError(t, err, c.query) {
			assert.Equal(t, fmt.Sprint(c.want), got, c.query)
		}
	}
}

// TestPromtoolCheckMetrics runs "promtool check metrics" on the whole
// exposition served by httpserver after real calls, interceptor and promhttp
// metrics included, and checks that it flags only names in
// registry.LintExceptions.
func TestPromtoolCheckMetrics(t *testing.T) {
	bin := promRequireBinary(t, "promtool")
	s := promNewStack(t)
	promWorkload(t, s)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.metrics+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, errors.Join(err, resp.Body.Close()))
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /metrics: %s", body)
	for _, name := range []string{
		"milvus_rootcoord_create_collection_total",
		"milvus_proxy_has_collection_total",
		"promhttp_metric_handler_requests_total",
	} {
		assert.Contains(t, string(body), "\n# TYPE "+name+" ", "/metrics has no %s", name)
	}

	cmd := exec.CommandContext(ctx, bin, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	// promtool exits 3 when it found lint problems, 1 on a real error.
	var exit *exec.ExitError
	if runErr != nil {
		require.True(t, errors.As(runErr, &exit) && exit.ExitCode() == 3, "promtool check metrics: %v\n%s", runErr, out.String())
	}
	allow := registry.LintExceptions()
	flagged := map[string]bool{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		flagged[name] = true
		assert.Contains(t, allow, name, "promtool flags %s, which is not in registry.LintExceptions: %q", name, line)
	}
	require.NoError(t, sc.Err())
	if runErr != nil {
		assert.NotEmpty(t, flagged, "promtool exited %v but flagged nothing:\n%s", runErr, out.String())
	}
	t.Logf("promtool flagged %d allowlisted names", len(flagged))
}
