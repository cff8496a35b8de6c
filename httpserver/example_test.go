package httpserver_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/prometheus/client_golang/prometheus"
)

// Serve a registry on a free local port, scrape it once, and shut down.
func Example() {
	reg := prometheus.NewRegistry()
	rpcs := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "example_rpcs_total",
		Help: "RPCs handled by the example.",
	})
	reg.MustRegister(rpcs)
	rpcs.Add(42)

	// The registry is also where the promhttp_metric_handler_* metrics
	// go, since it is a Registerer and Options.Registerer is nil.
	srv, err := httpserver.New(reg, httpserver.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		fmt.Println("new:", err)
		return
	}
	if err := srv.Start(); err != nil {
		fmt.Println("start:", err)
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			fmt.Println("shutdown:", err)
		}
	}()

	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		fmt.Println("scrape:", err)
		return
	}
	defer func() {
		if err := resp.Body.Close(); err != nil {
			fmt.Println("close:", err)
		}
	}()
	fmt.Println(resp.Status)
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "example_rpcs_total ") {
			fmt.Println(lines.Text())
		}
	}
	if err := lines.Err(); err != nil {
		fmt.Println("read:", err)
	}
	// Output:
	// 200 OK
	// example_rpcs_total 42
}

// Serve exemplars: they reach a scraper only in OpenMetrics, which
// Prometheus asks for first. The histogram here stands for the one that
// interceptor.WithHistogram adds with an interceptor.Exemplar.
func Example_openMetrics() {
	reg := prometheus.NewRegistry()
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "example_handling_seconds",
		Help:    "Handling time of the example's RPCs.",
		Buckets: []float64{0.1, 1},
	})
	reg.MustRegister(latency)
	latency.(prometheus.ExemplarObserver).ObserveWithExemplar(0.05, prometheus.Labels{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"})

	// Bucket bounds become le="1.0" and counters without _total are typed
	// unknown: see Options.OpenMetrics before turning it on under running
	// dashboards.
	srv, err := httpserver.New(reg, httpserver.Options{Addr: "127.0.0.1:0", OpenMetrics: true})
	if err != nil {
		fmt.Println("new:", err)
		return
	}
	if err := srv.Start(); err != nil {
		fmt.Println("start:", err)
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			fmt.Println("shutdown:", err)
		}
	}()

	req, err := http.NewRequest(http.MethodGet, "http://"+srv.Addr()+"/metrics", nil)
	if err != nil {
		fmt.Println("request:", err)
		return
	}
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0") // as Prometheus asks
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println("scrape:", err)
		return
	}
	defer func() {
		if err := resp.Body.Close(); err != nil {
			fmt.Println("close:", err)
		}
	}()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		line := lines.Text()
		if !strings.HasPrefix(line, "example_handling_seconds_bucket") {
			continue
		}
		if strings.Contains(line, " # {") {
			line = line[:strings.LastIndexByte(line, ' ')] // the exemplar's timestamp
		}
		fmt.Println(line)
	}
	if err := lines.Err(); err != nil {
		fmt.Println("read:", err)
	}
	// Output:
	// example_handling_seconds_bucket{le="0.1"} 1 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.05
	// example_handling_seconds_bucket{le="1.0"} 1
	// example_handling_seconds_bucket{le="+Inf"} 1
}

// Serve Prometheus on a listener of its own, whose scrape slots no flood of
// the shared address can take, and keep the shared address's budget small.
func ExampleOptions_scrapeAddr() {
	reg := prometheus.NewRegistry()
	srv, err := httpserver.New(reg, httpserver.Options{
		Addr:                "127.0.0.1:0", // people, tools, anything
		MaxRequestsInFlight: 4,
		ScrapeAddr:          "127.0.0.1:0", // in production, an address only Prometheus reaches
	})
	if err != nil {
		fmt.Println("new:", err)
		return
	}
	if err := srv.Start(); err != nil {
		fmt.Println("start:", err)
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			fmt.Println("shutdown:", err)
		}
	}()

	// The Prometheus scrape configuration names srv.ScrapeAddr().
	resp, err := http.Get("http://" + srv.ScrapeAddr() + "/metrics")
	if err != nil {
		fmt.Println("scrape:", err)
		return
	}
	if err := resp.Body.Close(); err != nil {
		fmt.Println("close:", err)
	}
	fmt.Println(resp.Status, srv.ScrapeAddr() != srv.Addr())
	// Output: 200 OK true
}
