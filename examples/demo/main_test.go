package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// loopback is a config with every address on a free loopback port.
func loopback() config {
	return config{proxyAddr: "127.0.0.1:0", rootCoordAddr: "127.0.0.1:0", dataNodeAddr: "127.0.0.1:0", metricsAddr: "127.0.0.1:0",
		interval: time.Millisecond, clientLimit: interceptor.DefaultClientLimit, sets: metricSets{milvus: true, provider: true, a66: true, milvus26: true}}
}

// startDemo starts the demo's servers in-process and stops them when the
// test ends.
func startDemo(t *testing.T, cfg config) *demo {
	t.Helper()
	d, err := start(cfg, zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	return d
}

// scrape gets /metrics from addr and returns the value of every counter
// sample, keyed by its name and label pairs as in the text format:
// name{a="x",b="y"}.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // only bounds a hang: a busy machine serves the race-built /metrics slowly
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	got := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetCounter() == nil {
				continue
			}
			pairs := make([]string, 0, len(m.GetLabel()))
			for _, lp := range m.GetLabel() {
				pairs = append(pairs, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			got[name+"{"+strings.Join(pairs, ",")+"}"] = m.GetCounter().GetValue()
		}
	}
	return got
}

// key returns the scrape key of a milvus counter series: callLabel is
// "status" or "type", clientID "" for counters without a client_id label.
func key(metric, clientID, callLabel, call string) string {
	if clientID == "" {
		return fmt.Sprintf("%s{%s=%q}", metric, callLabel, call)
	}
	return fmt.Sprintf("%s{client_id=%q,%s=%q}", metric, clientID, callLabel, call)
}

// callLabel is the label that holds total/success/fail for metric.
func callLabel(metric string) string {
	if strings.HasPrefix(metric, "milvus_proxy_") {
		return "status"
	}
	return "type"
}

// TestRun runs the demo once (with its context already done, so it stops
// right after printing) and checks that it printed its addresses and
// non-zero success and fail counts for proxy and rootcoord methods.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	done := make(chan error, 1)
	go func() { done <- run(ctx, loopback(), &out) }()
	// run returns after the workload and the table once ctx is done.
	cancel()
	require.NoError(t, <-done)
	table := out.String()
	for _, row := range []string{
		`(?m)^proxy +127\.0\.0\.1:[1-9][0-9]*  \(gRPC, reflection: grpcurl -plaintext 127\.0\.0\.1:[1-9][0-9]* list\)$`,
		`(?m)^rootcoord +127\.0\.0\.1:[1-9][0-9]*  `,
		`(?m)^datanode +127\.0\.0\.1:[1-9][0-9]*  `,
		`(?m)^metrics +http://127\.0\.0\.1:[1-9][0-9]*/metrics$`,
		`milvus_proxy_create_collection_total\s+6\s+2\s+4`,
		`milvus_rootcoord_create_collection_total\{client_id="client_1"\}\s+3\s+1\s+2`,
		`milvus_rootcoord_create_collection_total\{client_id="client_2"\}\s+3\s+1\s+2`,
		`milvus_rootcoord_show_collections_total\{client_id="client_2"\}\s+1\s+0\s+1`,
	} {
		assert.Regexp(t, regexp.MustCompile(row), table)
	}
}

// TestRunSteady runs the demo with -steady until it has sent a failing
// call of the mix and checks that it reports the calls it sent. It stops
// on that event, not after a time, so a slow machine only makes it longer.
func TestRunSteady(t *testing.T) {
	cfg := loopback()
	cfg.steady = true
	// The deadline only bounds a hang.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg.steadyDone = func(tl *tally) {
		if tl.fails > 0 {
			cancel()
		}
	}
	var out strings.Builder
	require.NoError(t, run(ctx, cfg, &out))
	require.ErrorIs(t, ctx.Err(), context.Canceled, "no steady call failed before the deadline")
	assert.Regexp(t, `Sending a steady mix \(one call every 1ms from 4 clients\)`, out.String())
	assert.Regexp(t, `(?m)^Sent [1-9][0-9]* calls: [0-9]+ success, [1-9][0-9]* fail \([0-9]+ of them panics\)\.$`, out.String())
}

// TestSteady sends the steady mix long enough for several rounds, from
// every client, with a panic among them, and checks that every counter on
// /metrics equals what the calls ended as on the client side.
func TestSteady(t *testing.T) {
	d := startDemo(t, loopback())
	before := scrape(t, d.metricsAddr())
	for k, v := range before {
		if dmMilvus20(k) {
			require.Zero(t, v, k)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out strings.Builder
	// Stop after two panics (2*steadyPanicEvery calls), by which time every
	// client has sent more than one round of the mix.
	tl, err := steady(ctx, d, 100*time.Microsecond, &out, func(tl *tally) {
		if tl.panics >= 2 {
			cancel()
		}
	})
	require.NoError(t, err)
	assert.Zero(t, tl.unexpected, "calls that ended unlike the mix expected")
	assert.GreaterOrEqual(t, tl.panics, 2)
	assert.Greater(t, tl.fails, tl.panics)
	assert.Less(t, tl.fails, tl.calls/4, "the mix is mostly successes")

	got := scrape(t, d.metricsAddr())
	assert.Equal(t, float64(tl.calls), totalCalls(got), "every steady call counts once")
	want := map[string]float64{}
	clients := map[string]bool{}
	for s, o := range tl.bySeries {
		l := callLabel(s.metric)
		want[key(s.metric, s.clientID, l, "success")] = float64(o.success)
		want[key(s.metric, s.clientID, l, "fail")] = float64(o.fail)
		want[key(s.metric, s.clientID, l, "total")] = float64(o.success + o.fail)
		if s.clientID != "" {
			clients[s.clientID] = true
		}
	}
	assert.Len(t, clients, steadyClients)
	metrics := map[string]bool{}
	for s := range tl.bySeries {
		metrics[s.metric] = true
	}
	m := registry.New()
	require.NoError(t, m.Register(prometheus.NewRegistry()))
	table, err := methodmap.Default(m)
	require.NoError(t, err)
	assert.Len(t, metrics, table.Len(), "the mix calls every method of the Milvus table: %v", metrics)
	for k, v := range want {
		assert.Equal(t, v, got[k], k)
	}
	for k, v := range got {
		if dmMilvus20(k) && v != 0 {
			_, ok := want[k]
			assert.True(t, ok, "%s = %v moved without a steady call", k, v)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name        string
		interval    time.Duration
		duration    time.Duration
		clientLimit int // 0: the default; -1: 0
		wantErr     []string
	}{
		{name: "ok", interval: time.Second},
		{name: "zero interval", interval: 0, wantErr: []string{"-steady-interval 0s is not positive"}},
		{name: "both", interval: -time.Second, duration: -time.Second, wantErr: []string{"-duration -1s is negative", "-steady-interval -1s"}},
		{name: "zero client limit", interval: time.Second, clientLimit: -1, wantErr: []string{"-client-limit 0 is not between 1 and 1048576"}},
		{name: "client limit too large", interval: time.Second, clientLimit: interceptor.MaxClientLimit + 1, wantErr: []string{"-client-limit 1048577 is not between"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loopback()
			cfg.interval = tt.interval
			switch tt.clientLimit {
			case 0:
			case -1:
				cfg.clientLimit = 0
			default:
				cfg.clientLimit = tt.clientLimit
			}
			err := validate(cfg, tt.duration)
			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			for _, w := range tt.wantErr {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

// TestStartBusyAddress checks that a taken address is an error naming the
// server and the address, and that start cleans up what it had started.
func TestStartBusyAddress(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { assert.NoError(t, lis.Close()) }()
	busy := lis.Addr().String()
	for _, tt := range []struct {
		name string
		set  func(*config)
		want string
	}{
		{"proxy", func(c *config) { c.proxyAddr = busy }, "proxy on " + busy},
		{"rootcoord", func(c *config) { c.rootCoordAddr = busy }, "rootcoord on " + busy},
		{"datanode", func(c *config) { c.dataNodeAddr = busy }, "datanode on " + busy},
		{"metrics", func(c *config) { c.metricsAddr = busy }, "metrics on " + busy},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loopback()
			tt.set(&cfg)
			d, err := start(cfg, zap.NewNop())
			require.ErrorContains(t, err, tt.want)
			assert.Nil(t, d)
		})
	}
}

// totalCalls sums the total series of every counter of Milvus v2.0.
func totalCalls(counters map[string]float64) float64 {
	var n float64
	for k, v := range counters {
		if dmMilvus20(k) && (strings.HasSuffix(k, `status="total"}`) || strings.HasSuffix(k, `type="total"}`)) {
			n += v
		}
	}
	return n
}

// dmMilvus20 reports whether the scrape key k is a series of Milvus v2.0's
// counters: a milvus_ counter without Milvus 2.6's function_name.
func dmMilvus20(k string) bool {
	return strings.HasPrefix(k, "milvus_") && !strings.Contains(k, "function_name=")
}
