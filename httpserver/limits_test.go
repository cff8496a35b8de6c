package httpserver_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSlowlorisIsCut opens raw TCP connections that never finish their
// headers and checks that the server closes them once ReadHeaderTimeout has
// passed. ReadTimeout is set far longer, so only the header timeout can be
// what cuts them.
func TestSlowlorisIsCut(t *testing.T) {
	const headerTimeout = 300 * time.Millisecond
	srv := start(t, newRegistry(t), httpserver.Options{
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       10 * time.Minute,
		Timeout:           10 * time.Minute,
		WriteTimeout:      11 * time.Minute,
	})

	tests := []struct {
		name    string
		trickle bool // keep sending one header byte at a time
	}{
		{"stalls after a partial header", false},
		{"trickles header bytes", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			began := time.Now()
			conn, err := net.Dial("tcp", srv.Addr())
			require.NoError(t, err)
			defer func() {
				if err := conn.Close(); !errors.Is(err, net.ErrClosed) {
					assert.NoError(t, err, "closing client connection")
				}
			}()
			_, err = io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: test\r\nX-Slow: ")
			require.NoError(t, err)

			stop := make(chan struct{})
			defer close(stop)
			if tt.trickle {
				go func() {
					tick := time.NewTicker(20 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							if _, err := conn.Write([]byte("a")); err != nil {
								return // the server has cut us off
							}
						}
					}
				}()
			}

			// Our own deadline is only a hang guard, far beyond the
			// server's header timeout.
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(waitLimit)))
			got, err := io.ReadAll(conn)
			require.NotErrorIs(t, err, os.ErrDeadlineExceeded, "server kept the connection open for %v", waitLimit)
			if err != nil {
				// Writing after the server closed may turn EOF into a reset.
				require.ErrorIs(t, err, syscall.ECONNRESET)
			}
			assert.GreaterOrEqual(t, time.Since(began), headerTimeout, "cut before ReadHeaderTimeout")
			assert.NotContains(t, string(got), "test_events_total", "an incomplete request was served")
		})
	}
}

// TestMaxRequestsInFlight sends 200 concurrent scrapes while the gatherer
// blocks: exactly MaxRequestsInFlight of them reach it, the others are
// refused with 503 at once, and once released only the admitted scrapes
// succeed. The promhttp handler metrics count both outcomes. They all come
// from one client, whose own budget is lifted so that the shared one is
// what is measured.
func TestMaxRequestsInFlight(t *testing.T) {
	const (
		limit    = 5
		requests = 200
	)
	reg := newRegistry(t)
	bg := newBlockingGatherer(reg)
	released := false
	defer func() {
		if !released {
			close(bg.release)
		}
	}()
	srv := start(t, bg, httpserver.Options{MaxRequestsInFlight: limit, MaxRequestsInFlightPerClient: requests, Registerer: reg})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: requests}}
	defer client.CloseIdleConnections()
	type result struct {
		code int
		err  error
	}
	results := make(chan result, requests)
	for range requests {
		go func() {
			code, _, err := fetch(client, "http://"+srv.Addr()+"/metrics")
			results <- result{code, err}
		}()
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
	// While the admitted scrapes are blocked, every other one must be
	// refused.
	for range requests - limit {
		assert.Equal(t, http.StatusServiceUnavailable, next().code)
	}
	assert.Equal(t, limit, len(bg.entered), "scrapes that reached the gatherer")

	close(bg.release)
	released = true
	ok := 0
	for range limit {
		if next().code == http.StatusOK {
			ok++
		}
	}
	assert.Equal(t, limit, ok)

	want := strings.NewReader(`
# HELP promhttp_metric_handler_requests_total Total number of scrapes by HTTP status code.
# TYPE promhttp_metric_handler_requests_total counter
promhttp_metric_handler_requests_total{code="200"} 5
promhttp_metric_handler_requests_total{code="500"} 0
promhttp_metric_handler_requests_total{code="503"} 195
`)
	assert.NoError(t, testutil.GatherAndCompare(reg, want, "promhttp_metric_handler_requests_total"))
}

// TestTimeout checks that a scrape stuck in the gatherer longer than
// Options.Timeout is answered with 503.
func TestTimeout(t *testing.T) {
	bg := newBlockingGatherer(prometheus.NewRegistry())
	defer close(bg.release)
	srv := start(t, bg, httpserver.Options{Timeout: 50 * time.Millisecond})
	code, body := get(t, http.DefaultClient, "http://"+srv.Addr()+"/metrics")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "Exceeded configured timeout")
}
