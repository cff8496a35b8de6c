package httpserver_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
)

// clientFrom returns an HTTP client whose connections leave from the
// loopback address ip (any of 127.0.0.0/8 on Linux), so that the server
// sees it as a client of its own, and up to conns connections at once.
func clientFrom(ip string, conns int) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: waitLimit}
	return &http.Client{Transport: &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConnsPerHost: conns,
	}}
}

// TestMaxRequestsInFlightPerClient sends 10 concurrent scrapes from one
// client (127.0.0.2) while the gatherer blocks: with the default options,
// only DefaultMaxRequestsInFlightPerClient of them reach the gatherer and the
// others are refused with 503 at once, while a scrape from another client
// (127.0.0.1) still gets a slot of the shared MaxRequestsInFlight.
func TestMaxRequestsInFlightPerClient(t *testing.T) {
	const requests = 10
	perClient := httpserver.DefaultMaxRequestsInFlightPerClient
	reg := newRegistry(t)
	bg := newBlockingGatherer(reg)
	released := false
	defer func() {
		if !released {
			close(bg.release)
		}
	}()
	srv := start(t, bg, httpserver.Options{Registerer: reg})
	url := "http://" + srv.Addr() + "/metrics"

	flooder := clientFrom("127.0.0.2", requests)
	defer flooder.CloseIdleConnections()
	type result struct {
		code int
		body string
		err  error
	}
	results := make(chan result, requests+1)
	scrape := func(c *http.Client) {
		code, body, err := fetch(c, url)
		results <- result{code, body, err}
	}
	for range requests {
		go scrape(flooder)
	}
	next := func() result {
		t.Helper()
		select {
		case r := <-results:
			require.NoError(t, r.err)
			return r
		case <-time.After(waitLimit):
			require.FailNow(t, "a scrape did not answer")
			return result{}
		}
	}
	for range requests - perClient {
		r := next()
		assert.Equal(t, http.StatusServiceUnavailable, r.code)
		assert.Contains(t, r.body, "per client")
	}
	for range perClient {
		bg.waitEntered(t)
	}

	// Another client still gets in while the first holds its budget.
	other := clientFrom("127.0.0.1", 1)
	defer other.CloseIdleConnections()
	go scrape(other)
	bg.waitEntered(t)

	close(bg.release)
	released = true
	for range perClient + 1 {
		assert.Equal(t, http.StatusOK, next().code)
	}
	want := strings.NewReader(`
# HELP promhttp_metric_handler_requests_total Total number of scrapes by HTTP status code.
# TYPE promhttp_metric_handler_requests_total counter
promhttp_metric_handler_requests_total{code="200"} 5
promhttp_metric_handler_requests_total{code="500"} 0
promhttp_metric_handler_requests_total{code="503"} 6
`)
	assert.NoError(t, testutil.GatherAndCompare(reg, want, "promhttp_metric_handler_requests_total"))
}

// TestScrapeAddr checks the second listener: it serves /metrics and
// /healthz, and its MaxRequestsInFlight budget is its own, so that a
// scrape on it gets a slot while the shared listener's are all taken.
func TestScrapeAddr(t *testing.T) {
	reg := newRegistry(t)
	bg := newBlockingGatherer(reg)
	released := false
	defer func() {
		if !released {
			close(bg.release)
		}
	}()
	srv := start(t, bg, httpserver.Options{
		Registerer:          reg,
		MaxRequestsInFlight: 1,
		ScrapeAddr:          "127.0.0.1:0",
	})
	require.NotEqual(t, srv.Addr(), srv.ScrapeAddr())
	require.NotContains(t, srv.ScrapeAddr(), ":0", "ScrapeAddr reports the bound port")

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	type result struct {
		code int
		err  error
	}
	results := make(chan result, 3)
	scrape := func(url string) {
		code, _, err := fetch(http.DefaultClient, url)
		results <- result{code, err}
	}
	// The shared listener's only slot is taken...
	go scrape("http://" + srv.Addr() + "/metrics")
	bg.waitEntered(t)
	code, _ := get(t, http.DefaultClient, "http://"+srv.Addr()+"/metrics")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	// ...and the scrape listener still admits one.
	go scrape("http://" + srv.ScrapeAddr() + "/metrics")
	bg.waitEntered(t)
	close(bg.release)
	released = true
	for range 2 {
		select {
		case r := <-results:
			require.NoError(t, r.err)
			assert.Equal(t, http.StatusOK, r.code)
		case <-ctx.Done():
			require.FailNow(t, "a scrape did not answer")
		}
	}
	code, body := get(t, http.DefaultClient, "http://"+srv.ScrapeAddr()+httpserver.HealthPath)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok\n", body)
	code, _ = get(t, http.DefaultClient, "http://"+srv.ScrapeAddr()+"/other")
	assert.Equal(t, http.StatusNotFound, code)
}
