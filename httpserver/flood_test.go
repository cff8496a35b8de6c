package httpserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
)

// The flood of TestFloodDoesNotStarvePrometheus runs in a process of its
// own, as clients on other machines would: this test binary, started again
// with these variables set, which TestMain reads.
const (
	floodURLEnv     = "HTTPSERVER_TEST_FLOOD_URL"
	floodSourcesEnv = "HTTPSERVER_TEST_FLOOD_SOURCES"
)

// Bounds of the flood.
const (
	floodClients = 200
	// floodScrapes is how many scrapes Prometheus must make while the flood
	// runs.
	floodScrapes = 3
	// floodLimit stops the flood whatever happens.
	floodLimit = 90 * time.Second
)

func TestMain(m *testing.M) {
	if url := os.Getenv(floodURLEnv); url != "" {
		os.Exit(floodProcess(url, os.Getenv(floodSourcesEnv)))
	}
	os.Exit(m.Run())
}

// floodProcess floods url with floodClients clients from sources loopback
// addresses until its standard input closes or floodLimit passes. It
// writes "refused" on its standard output at the first 503, and a summary
// of the answers when it stops.
func floodProcess(url, sources string) int {
	n, err := strconv.Atoi(sources)
	if err != nil || n < 1 || n > floodClients {
		fmt.Fprintf(os.Stderr, "flood: %s=%q is not a number of sources from 1 to %d\n", floodSourcesEnv, sources, floodClients)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), floodLimit)
	defer cancel()
	f := &flood{codes: map[int]int{}}
	clients := make([]*http.Client, n)
	for i := range clients {
		clients[i] = clientFrom(fmt.Sprintf("127.0.0.%d", 2+i), floodClients/n+1)
	}
	var wg sync.WaitGroup
	for i := range floodClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				f.one(ctx, clients[i%n], url)
			}
		}()
	}
	go func() {
		// The parent closes our standard input to stop us.
		if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, "flood: reading standard input:", err)
		}
		cancel()
	}()
	wg.Wait()
	fmt.Println(f)
	return 0
}

// flood counts the answers of a flood's requests.
type flood struct {
	mu    sync.Mutex
	codes map[int]int
	errs  int
}

// one makes one request of the flood and counts its answer.
func (f *flood) one(ctx context.Context, c *http.Client, url string) {
	code := 0
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = c.Do(req); err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			err = errors.Join(err, resp.Body.Close())
			code = resp.StatusCode
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err != nil && ctx.Err() == nil:
		f.errs++
	case err == nil:
		f.codes[code]++
		if code == http.StatusServiceUnavailable && f.codes[code] == 1 {
			fmt.Println("refused")
		}
	}
}

// String summarizes the answers the flood got.
func (f *flood) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprintf("flood: %d answered 200, %d answered 503, %d failed", f.codes[http.StatusOK], f.codes[http.StatusServiceUnavailable], f.errs)
}

// startFlood runs the flood process against url from sources loopback
// addresses, and returns once the server has refused it a request. stop
// ends it and returns its summary.
func startFlood(t *testing.T, url string, sources int) (stop func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), floodLimit+waitLimit)
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), floodURLEnv+"="+url, floodSourcesEnv+"="+strconv.Itoa(sources))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr := &promtest.SyncBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	lines := make(chan string, 2)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	var once sync.Once
	summary := ""
	stop = func() string {
		once.Do(func() {
			defer cancel()
			if err := stdin.Close(); err != nil {
				t.Errorf("stopping the flood: %v", err)
			}
			for l := range lines {
				summary = l
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("flood process: %v\n%s", err, stderr)
			}
		})
		return summary
	}
	t.Cleanup(func() { stop() })
	select {
	case l := <-lines:
		require.Equal(t, "refused", l, "the flood process's first line")
	case <-time.After(waitLimit):
		t.Fatalf("the flood was never refused\n%s", stderr)
	}
	return stop
}

// floodRegistry returns a registry whose scrape costs a little, as a real
// one does: 300 series.
func floodRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := newRegistry(t)
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "test_flood_series", Help: "Series that make a scrape cost something."}, []string{"n"})
	require.NoError(t, reg.Register(g))
	for i := range 100 {
		g.WithLabelValues(strconv.Itoa(i)).Set(float64(i))
	}
	return reg
}

// scrapes returns how many scrapes of job the Prometheus at base has made
// and how many of them succeeded (up == 1).
func scrapes(t *testing.T, base, job string) (made, ok float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	sel := fmt.Sprintf(`up{job=%q}[1h]`, job)
	// One query for both, so that they describe the same scrapes.
	samples, err := promtest.Query(ctx, base, fmt.Sprintf(
		`label_replace(count_over_time(%s), "n", "made", "", "") or label_replace(sum_over_time(%s), "n", "ok", "", "")`, sel, sel))
	require.NoError(t, err)
	for _, s := range samples {
		switch s.Metric["n"] {
		case "made":
			made = s.Value
		case "ok":
			ok = s.Value
		}
	}
	return made, ok
}

// waitScrapes waits until the Prometheus at base has made at least n scrapes
// of job, and returns how many it made and how many succeeded.
func waitScrapes(t *testing.T, base, job string, n float64) (made, ok float64) {
	t.Helper()
	deadline := time.Now().Add(waitLimit + floodLimit)
	for {
		made, ok = scrapes(t, base, job)
		if made >= n {
			return made, ok
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus made %v scrapes of %s, want %v", made, job, n)
		}
		// Prometheus scrapes every three seconds: ask a few times per scrape.
		<-time.After(200 * time.Millisecond)
	}
}

// floodConfig is the configuration of the Prometheus server of
// TestFloodDoesNotStarvePrometheus, given a job and its target: a scrape
// every three seconds, which may take three (Prometheus's default is ten),
// so that a slot of the listener, not the CPU of a busy test machine, is
// what decides whether a scrape succeeds.
const floodConfig = `global:
  scrape_interval: 3s
  scrape_timeout: 3s
scrape_configs:
  - job_name: %q
    static_configs:
      - targets: [%q]
`

// TestFloodDoesNotStarvePrometheus has 200 concurrent clients, in a process
// of their own, scrape /metrics in a loop while a real Prometheus scrapes it
// every three seconds: every scrape Prometheus makes during the flood must succeed
// (up == 1).
//   - A flood from one host is held to that host's
//     MaxRequestsInFlightPerClient, so Prometheus, another client, finds a
//     slot of the shared listener.
//   - A flood from 200 hosts takes every slot of the shared listener, so
//     Prometheus scrapes the listener of its own, ScrapeAddr. The shared
//     listener's budget is small, as it should be beside a scrape
//     listener: it bounds what a flood costs the process.
func TestFloodDoesNotStarvePrometheus(t *testing.T) {
	bin := promtest.RequireBinary(t, "prometheus")
	tests := []struct {
		name    string
		sources int // distinct client addresses of the flood
		opts    httpserver.Options
	}{
		{"one host floods the listener Prometheus scrapes", 1, httpserver.Options{}},
		{"200 hosts flood, Prometheus scrapes a listener of its own", floodClients,
			httpserver.Options{ScrapeAddr: "127.0.0.1:0", MaxRequestsInFlight: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := start(t, floodRegistry(t), tt.opts)
			target := srv.Addr()
			if tt.opts.ScrapeAddr != "" {
				target = srv.ScrapeAddr()
			}
			const job = "flood"
			prom := promtest.StartYAML(t, bin, fmt.Sprintf(floodConfig, job, target))
			before, _ := waitScrapes(t, prom.URL, job, 1)

			stop := startFlood(t, "http://"+srv.Addr()+"/metrics", tt.sources)
			from, fromOK := scrapes(t, prom.URL, job)
			made, ok := waitScrapes(t, prom.URL, job, from+floodScrapes)
			summary := stop()
			slowest, err := promtest.QueryValue(context.Background(), prom.URL, fmt.Sprintf(`max_over_time(scrape_duration_seconds{job=%q}[1h])`, job))
			require.NoError(t, err)
			t.Logf("%s; Prometheus: %v scrapes before the flood, %v of %v succeeded during it, the slowest took %ss",
				summary, before, ok-fromOK, made-from, slowest)
			require.True(t, strings.HasPrefix(summary, "flood: "), "the flood process's summary: %q", summary)
			require.Equal(t, made-from, ok-fromOK, "scrapes that failed during the flood (up == 0)")
			require.Equal(t, from, fromOK, "scrapes that failed before the flood was measured")
		})
	}
}
