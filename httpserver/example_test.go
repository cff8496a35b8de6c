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
