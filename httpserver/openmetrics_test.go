package httpserver_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
)

// prAcceptPrometheus is the Accept header Prometheus 2.42 scrapes with: it
// asks for OpenMetrics first.
const prAcceptPrometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// prExemplarRegistry holds a histogram with one observation that carries an
// exemplar, and a counter named like three of Milvus v2.0's, without _total.
func prExemplarRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pr_handling_seconds", Help: "Handling time.", Buckets: []float64{0.5, 1, 2}})
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "milvus_proxy_create_index_counter", Help: "Counter of create index"})
	require.NoError(t, reg.Register(h))
	require.NoError(t, reg.Register(c))
	h.(prometheus.ExemplarObserver).ObserveWithExemplar(0.7, prometheus.Labels{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"})
	c.Inc()
	return reg
}

// prScrape gets /metrics from srv with the Accept header accept ("" sends
// none) and returns the response's Content-Type and body.
func prScrape(t *testing.T, srv *httpserver.Server, accept string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+srv.Addr()+httpserver.MetricsPath, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { assert.NoError(t, resp.Body.Close()) }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	return resp.Header.Get("Content-Type"), string(body)
}

// TestPrOpenMetrics checks what a scraper gets with and without
// Options.OpenMetrics: Prometheus's own Accept header gets OpenMetrics, with
// the exemplar, le="1.0" and the _counter name typed unknown, only when the
// option is on; a client that asks for nothing always gets the text format.
func TestPrOpenMetrics(t *testing.T) {
	const exemplar = `pr_handling_seconds_bucket{le="1.0"} 1 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.7`
	tests := []struct {
		name        string
		opts        httpserver.Options
		accept      string
		contentType string
		want        []string
		wantNot     []string
	}{
		{
			name:        "default, Prometheus asks",
			accept:      prAcceptPrometheus,
			contentType: "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
			want:        []string{`pr_handling_seconds_bucket{le="1"} 1` + "\n", "# TYPE milvus_proxy_create_index_counter counter\n"},
			wantNot:     []string{"trace_id", "# EOF", "_created"},
		},
		{
			name:        "OpenMetrics, Prometheus asks",
			opts:        httpserver.Options{OpenMetrics: true},
			accept:      prAcceptPrometheus,
			contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
			want:        []string{exemplar, "# TYPE milvus_proxy_create_index_counter unknown\n", "# EOF\n"},
			wantNot:     []string{`le="1"}`, "_created"},
		},
		{
			name:        "OpenMetrics, client asks for nothing",
			opts:        httpserver.Options{OpenMetrics: true},
			contentType: "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
			want:        []string{`pr_handling_seconds_bucket{le="1"} 1` + "\n"},
			wantNot:     []string{"trace_id", "# EOF"},
		},
		{
			name:        "OpenMetrics with created samples",
			opts:        httpserver.Options{OpenMetrics: true, OpenMetricsCreatedSamples: true},
			accept:      prAcceptPrometheus,
			contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
			want:        []string{exemplar, "pr_handling_seconds_created ", "# EOF\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := start(t, prExemplarRegistry(t), tt.opts)
			contentType, body := prScrape(t, srv, tt.accept)
			assert.Equal(t, tt.contentType, contentType)
			for _, w := range tt.want {
				assert.Contains(t, body, w)
			}
			for _, w := range tt.wantNot {
				assert.NotContains(t, body, w)
			}
		})
	}
}
