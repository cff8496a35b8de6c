package grpcmetrics_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/recoverylog"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// promStack is the demo's wiring: the example proxy and rootcoord servers on
// loopback TCP behind recovery and the interceptor, and the /metrics server.
type promStack struct {
	proxy   milvuspb.MilvusServiceClient
	rc      rootcoordpb.RootCoordClient
	metrics string // host:port of the /metrics server
}

// prTraceKey is the metadata key whose value the server-side histogram
// attaches to its observations as the exemplar label trace_id, as a tracing
// library's span context would supply it.
const prTraceKey = "pr-trace-id"

// prTraceID returns the trace ID a call carried, or "" (no exemplar).
func prTraceID(ctx context.Context) string {
	if v := metadata.ValueFromIncomingContext(ctx, prTraceKey); len(v) > 0 {
		return v[0]
	}
	return ""
}

// promNewStack builds the stack, with /metrics served in OpenMetrics (when
// the scraper asks for it) if openMetrics is set.
func promNewStack(t *testing.T, openMetrics bool) *promStack {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := registry.New()
	require.NoError(t, m.Register(reg))
	methods, err := methodmap.Default(m)
	require.NoError(t, err)
	status := interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]())
	latency := interceptor.WithHistogram(interceptor.Histogram{})
	ic, err := interceptor.NewMilvusCounters(methods, interceptor.WithClientID(interceptor.MilvusSourceID[*commonpb.MsgBase]()))
	require.NoError(t, err)
	// The generic families ride along on the same servers and clients, so
	// that every name grpcmetrics adds is in the exposition promtool checks.
	sm, err := interceptor.NewServerMetrics()
	require.NoError(t, err)
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic, Provider: sm}, status,
		interceptor.WithHistogram(interceptor.Histogram{Exemplar: &interceptor.Exemplar{Label: "trace_id", Value: prTraceID}}))
	require.NoError(t, err)
	require.NoError(t, install.Register(reg))
	cm, err := interceptor.NewClientMetrics()
	require.NoError(t, err)
	clients, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm}, status, latency)
	require.NoError(t, err)
	require.NoError(t, clients.Register(reg))
	opts := append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(recoverylog.Option(zap.NewNop())))}, install.ServerOptions()...)

	proxySrv := proxy.New().NewGRPCServer(opts...)
	rcSrv := rootcoord.New().NewGRPCServer(opts...)
	require.NoError(t, install.Init(proxySrv, rcSrv))
	proxyConn := promServe(t, proxySrv, clients)
	rcConn := promServe(t, rcSrv, clients)

	metrics := promtest.ServeMetricsWith(t, reg, httpserver.Options{OpenMetrics: openMetrics})
	return &promStack{
		proxy:   milvuspb.NewMilvusServiceClient(proxyConn),
		rc:      rootcoordpb.NewRootCoordClient(rcConn),
		metrics: metrics,
	}
}

// promServe serves srv on a loopback TCP port and returns a client
// connection to it; both are stopped on cleanup.
func promServe(t *testing.T, srv *grpc.Server, clients *interceptor.ClientInstall) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), append(clients.DialOptions(),
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		srv.Stop()
		<-done
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Errorf("closing client: %v", err)
		}
		srv.GracefulStop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
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
		require.NotZero(t, st.GetErrorCode(), "rootcoord CreateCollection with fault %s %d: want a failing status", fault.ErrorCode, i)
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

// prSettings are the two ways /metrics can be served: the text format
// only (httpserver's default), and OpenMetrics for a scraper that asks for
// it, which carries exemplars. Every real-Prometheus test runs both.
var prSettings = []struct {
	name        string
	openMetrics bool
}{
	{"text", false},
	{"openmetrics", true},
}

// TestRealPrometheus scrapes the served exposition with a real Prometheus
// server, exemplar storage on, and checks exact counts through its query
// API, for /metrics served in the text format and in OpenMetrics: one stack
// and one scrape job for each, one Prometheus for both. Through OpenMetrics
// the exemplars of the server-side histogram reach Prometheus, exactly the
// trace IDs the calls carried; through the text format none do.
func TestRealPrometheus(t *testing.T) {
	t.Parallel()
	bin := promtest.RequireBinary(t, "prometheus")
	stacks := make([]*promStack, len(prSettings))
	wants := make([]promWant, len(prSettings))
	var jobs []promtest.Job
	for i, st := range prSettings {
		stacks[i] = promNewStack(t, st.openMetrics)
		wants[i] = promWorkload(t, stacks[i])
		jobs = append(jobs, promtest.Job{Name: "grpcmetrics-" + st.name, Targets: []string{stacks[i].metrics}})
	}
	srv := promtest.Start(t, bin, promtest.Config{Jobs: jobs, Features: []string{promtest.ExemplarStorage}})
	start := time.Now()
	for i, st := range prSettings {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			prCheckCounts(t, srv, jobs[i].Name, wants[i])
			prCheckExemplars(t, srv, jobs[i].Name, stacks[i], wants[i], st.openMetrics, start)
		})
	}
}

// prWait polls query on srv until it answers want, and fails the test
// after 60s.
func prWait(t *testing.T, srv *promtest.Server, query, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got string
	var lastErr error
	for {
		qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
		got, lastErr = promtest.QueryValue(qctx, srv.URL, query)
		qcancel()
		if got == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: still %q (last error: %v), want %s after 60s", query, got, lastErr, want)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// prCheckCounts checks the counts of job, which scraped a stack that
// promWorkload called.
func prCheckCounts(t *testing.T, srv *promtest.Server, job string, w promWant) {
	t.Helper()
	j := fmt.Sprintf("job=%q,", job)
	successQuery := `sum(milvus_rootcoord_create_collection_total{` + j + `type="success"})`
	prWait(t, srv, successQuery, fmt.Sprint(w.rcCreateOK))

	checks := []struct {
		query string
		want  int
	}{
		{successQuery, w.rcCreateOK},
		{`sum(milvus_rootcoord_create_collection_total{` + j + `type="fail"})`, w.rcCreateFail},
		{`sum(milvus_rootcoord_create_collection_total{` + j + `type="total"})`, w.rcCreateOK + w.rcCreateFail},
		{`sum(milvus_proxy_has_collection_total{` + j + `status="success"})`, w.proxyHasOK},
		{`sum(milvus_proxy_has_collection_total{` + j + `status="fail"})`, w.proxyHasFail},
		{`sum(milvus_proxy_has_collection_total{` + j + `status="total"})`, w.proxyHasOK + w.proxyHasFail},
		{`count(milvus_rootcoord_create_collection_total{` + j + `type="success"} > 0)`, 2}, // SourceID 1 and 2
		// The histogram and the generic families, server and client side.
		{`sum(grpc_server_handling_seconds_count{` + j + `grpc_service="milvus.proto.rootcoord.RootCoord",grpc_method="CreateCollection"})`, w.rcCreateOK + w.rcCreateFail},
		{`sum(grpc_server_handled_total{` + j + `grpc_service="milvus.proto.rootcoord.RootCoord",grpc_method="CreateCollection",grpc_code="OK"})`, w.rcCreateOK + w.rcCreateFail},
		{`sum(grpcmetrics_server_response_failed_total{` + j + `grpc_method="CreateCollection"})`, w.rcCreateFail},
		{`sum(grpc_server_handled_total{` + j + `grpc_method="HasCollection",grpc_code!="OK"})`, w.proxyHasFail},
		{`sum(grpc_client_handled_total{` + j + `grpc_method="HasCollection"})`, w.proxyHasOK + w.proxyHasFail},
		{`sum(grpc_client_handling_seconds_count{` + j + `grpc_method="CreateCollection"})`, w.rcCreateOK + w.rcCreateFail},
		{`sum(grpcmetrics_client_response_failed_total{` + j + `grpc_method="CreateCollection"})`, w.rcCreateFail},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range checks {
		got, err := promtest.QueryValue(ctx, srv.URL, c.query)
		if assert.NoError(t, err, c.query) {
			assert.Equal(t, fmt.Sprint(c.want), got, c.query)
		}
	}
}

// prTraced is how many calls prCheckExemplars makes with a trace ID.
const prTraced = 4

// prCheckExemplars makes prTraced calls, each with a trace ID of its own,
// on s, waiting after each until job's scrape has seen it (a classic
// histogram keeps one exemplar per bucket, the last: without the wait a
// later call in the same bucket would replace it before any scrape). Then
// Prometheus must hold exactly those trace IDs as exemplars of
// grpc_server_handling_seconds if the stack serves OpenMetrics, and none
// otherwise. The bucket bounds show the format too: le="1.0" in
// OpenMetrics, le="1" in the text format.
func prCheckExemplars(t *testing.T, srv *promtest.Server, job string, s *promStack, w promWant, openMetrics bool, start time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	observed := w.rcCreateOK + w.rcCreateFail + w.proxyHasOK + w.proxyHasFail
	countQuery := fmt.Sprintf(`sum(grpc_server_handling_seconds_count{job=%q})`, job)
	want := map[string]bool{}
	for i := range prTraced {
		id := fmt.Sprintf("4bf92f3577b34da6a3ce929d0e0e47%02x", i) // 16 bytes, hex, like a W3C trace ID
		want[id] = true
		st, err := s.rc.CreateCollection(metadata.AppendToOutgoingContext(ctx, prTraceKey, id), &milvuspb.CreateCollectionRequest{
			Base: &commonpb.MsgBase{SourceID: 1}, CollectionName: fmt.Sprintf("prom_traced_%d", i),
		})
		require.NoError(t, err, "traced call %d", i)
		require.Zero(t, st.GetErrorCode(), "traced call %d: %v", i, st)
		observed++
		prWait(t, srv, countQuery, fmt.Sprint(observed))
	}

	exemplars, err := promtest.QueryExemplars(ctx, srv.URL, fmt.Sprintf(`grpc_server_handling_seconds_bucket{job=%q}`, job), start.Add(-time.Minute), time.Now().Add(time.Minute))
	require.NoError(t, err)
	got := map[string]bool{}
	for _, e := range exemplars {
		assert.Equal(t, []string{"trace_id"}, slices.Collect(maps.Keys(e.Labels)), "exemplar %v", e)
		got[e.Labels["trace_id"]] = true
	}
	if openMetrics {
		assert.Equal(t, want, got, "the trace IDs of the traced calls, exactly")
	} else {
		assert.Empty(t, got, "the text format carries no exemplars")
	}

	le := `le="1"`
	if openMetrics {
		le = `le="1.0"`
	}
	n, err := promtest.QueryValue(ctx, srv.URL, fmt.Sprintf(`count(grpc_server_handling_seconds_bucket{job=%q,%s})`, job, le))
	require.NoError(t, err)
	assert.NotEmpty(t, n, "bucket bound %s", le)
}

// TestPromtoolCheckMetrics runs "promtool check metrics" on the whole
// exposition served by httpserver after real calls, interceptor and promhttp
// metrics included, and checks that it flags only names in
// registry.LintExceptions.
func TestPromtoolCheckMetrics(t *testing.T) {
	bin := promtest.RequireBinary(t, "promtool")
	s := promNewStack(t, false)
	promWorkload(t, s)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.metrics+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /metrics: %s", body)
	for _, name := range []string{
		"milvus_rootcoord_create_collection_total",
		"milvus_proxy_has_collection_total",
		"promhttp_metric_handler_requests_total",
		"grpc_server_handling_seconds",
		"grpc_server_started_total",
		"grpc_server_handled_total",
		"grpc_server_msg_received_total",
		"grpc_server_msg_sent_total",
		"grpcmetrics_server_response_failed_total",
		"grpcmetrics_server_calls_before_init_total",
		"grpc_client_handling_seconds",
		"grpc_client_started_total",
		"grpc_client_handled_total",
		"grpc_client_msg_received_total",
		"grpc_client_msg_sent_total",
		"grpcmetrics_client_response_failed_total",
		"grpcmetrics_client_id_overflow_total",
		"grpcmetrics_client_ids",
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
	if runErr != nil && (!errors.As(runErr, &exit) || exit.ExitCode() != 3) {
		t.Fatalf("promtool check metrics: %v\n%s", runErr, out.String())
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
		if _, ok := allow[name]; !ok {
			t.Errorf("promtool flags %s, which is not in registry.LintExceptions: %q", name, line)
		}
	}
	require.NoError(t, sc.Err())
	if len(flagged) == 0 && runErr != nil {
		t.Errorf("promtool exited %v but flagged nothing:\n%s", runErr, out.String())
	}
	t.Logf("promtool flagged %d allowlisted names", len(flagged))
}
