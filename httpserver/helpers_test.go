package httpserver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitLimit bounds every wait in these tests. It is generous on purpose:
// it only turns a hang into a failure and is never what a test measures.
const waitLimit = 30 * time.Second

// newRegistry returns a registry holding test_events_total = 3.
func newRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_events_total", Help: "Events seen by the test."})
	require.NoError(t, reg.Register(c))
	c.Add(3)
	return reg
}

// start creates and starts a server on 127.0.0.1:0 (unless o says
// otherwise) and shuts it down when the test ends.
func start(t *testing.T, g prometheus.Gatherer, o httpserver.Options) *httpserver.Server {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	srv, err := httpserver.New(g, o)
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
	})
	return srv
}

// get fetches url with c and returns the status code and body.
func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	code, body, err := fetch(c, url)
	require.NoError(t, err)
	return code, body
}

// fetch is get for goroutines other than the test's.
func fetch(c *http.Client, url string) (code int, body string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), errors.Join(err, resp.Body.Close())
}

func closeBody(t *testing.T, resp *http.Response) {
	t.Helper()
	assert.NoError(t, resp.Body.Close())
}

// blockingGatherer gathers from g, but only after release is closed. Each
// call first signals on entered, which is buffered for 1024 calls.
type blockingGatherer struct {
	g       prometheus.Gatherer
	entered chan struct{}
	release chan struct{}
}

func newBlockingGatherer(g prometheus.Gatherer) *blockingGatherer {
	return &blockingGatherer{g: g, entered: make(chan struct{}, 1024), release: make(chan struct{})}
}

func (b *blockingGatherer) Gather() ([]*dto.MetricFamily, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.g.Gather()
}

// waitEntered waits until a Gather call has started.
func (b *blockingGatherer) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-b.entered:
	case <-time.After(waitLimit):
		require.FailNow(t, "no scrape reached the gatherer")
	}
}
