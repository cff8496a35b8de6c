package promtest

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuery(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		code    int
		want    []Sample
		value   string
		wantErr string
	}{
		{
			name: "two samples",
			body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"0.5"]},{"metric":{},"value":[1,"NaN"]}]}}`,
			code: http.StatusOK,
			want: []Sample{{Metric: map[string]string{"a": "1"}, Value: 0.5}, {Metric: map[string]string{}, Value: math.NaN()}},
		},
		{
			name:  "one sample",
			body:  `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"6"]}]}}`,
			code:  http.StatusOK,
			want:  []Sample{{Metric: map[string]string{}, Value: 6}},
			value: "6",
		},
		{
			name: "empty",
			body: `{"status":"success","data":{"resultType":"vector","result":[]}}`,
			code: http.StatusOK,
			want: []Sample{},
		},
		{name: "bad query", body: `{"status":"error","error":"parse error"}`, code: http.StatusBadRequest, wantErr: "HTTP 400"},
		{name: "matrix", body: `{"status":"success","data":{"resultType":"matrix","result":[]}}`, code: http.StatusOK, wantErr: "want vector"},
		{name: "bad value", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}}`, code: http.StatusOK, wantErr: `value "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "/api/v1/query", r.URL.Path)
				assert.Equal(t, "up == 1", r.URL.Query().Get("query"))
				w.WriteHeader(tt.code)
				_, err := w.Write([]byte(tt.body))
				assert.NoError(t, err)
			}))
			defer srv.Close()
			got, err := Query(context.Background(), srv.URL, "up == 1")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, len(tt.want))
			for i := range tt.want {
				assert.Equal(t, tt.want[i].Metric, got[i].Metric)
				if math.IsNaN(tt.want[i].Value) {
					assert.True(t, math.IsNaN(got[i].Value), "got %v, want NaN", got[i].Value)
					continue
				}
				assert.Equal(t, tt.want[i].Value, got[i].Value)
			}
			if tt.value != "" {
				v, err := QueryValue(context.Background(), srv.URL, "up == 1")
				require.NoError(t, err)
				assert.Equal(t, tt.value, v)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	c := Config{
		Jobs:      []Job{{Name: "a", Targets: []string{"127.0.0.1:1", "127.0.0.1:2"}}, {Name: "b", Targets: []string{"127.0.0.1:3"}}},
		RuleFiles: []string{"/x/r.yml"},
	}
	want := `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - "/x/r.yml"
scrape_configs:
  - job_name: "a"
    static_configs:
      - targets:
          - "127.0.0.1:1"
          - "127.0.0.1:2"
  - job_name: "b"
    static_configs:
      - targets:
          - "127.0.0.1:3"
`
	assert.Equal(t, want, c.config())

	c.Interval = 5 * time.Second
	assert.Equal(t, strings.ReplaceAll(want, ": 1s\n", ": 5s\n"), c.config())
}

func TestQueryExemplars(t *testing.T) {
	start, end := time.Unix(1000, 500e6), time.Unix(1060, 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/api/v1/query_exemplars", r.URL.Path)
		assert.Equal(t, `h_bucket{job="a"}`, r.URL.Query().Get("query"))
		assert.Equal(t, "1000.500", r.URL.Query().Get("start"))
		assert.Equal(t, "1060.000", r.URL.Query().Get("end"))
		_, err := w.Write([]byte(`{"status":"success","data":[{"seriesLabels":{"__name__":"h_bucket","le":"1.0"},` +
			`"exemplars":[{"labels":{"trace_id":"t1"},"value":"0.5","timestamp":1000.6},{"labels":{"trace_id":"t2"},"value":"0.7","timestamp":1001}]}]}`))
		assert.NoError(t, err)
	}))
	defer srv.Close()
	got, err := QueryExemplars(context.Background(), srv.URL, `h_bucket{job="a"}`, start, end)
	require.NoError(t, err)
	series := map[string]string{"__name__": "h_bucket", "le": "1.0"}
	assert.Equal(t, []Exemplar{
		{Series: series, Labels: map[string]string{"trace_id": "t1"}, Value: 0.5},
		{Series: series, Labels: map[string]string{"trace_id": "t2"}, Value: 0.7},
	}, got)
}

func TestTargetsMetadataAndRules(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body string
		switch r.URL.Path {
		case "/api/v1/targets":
			assert.Equal(t, "active", r.URL.Query().Get("state"))
			body = `{"status":"success","data":{"activeTargets":[{"scrapeUrl":"http://a/metrics","health":"up","lastError":""},` +
				`{"scrapeUrl":"http://b/metrics","health":"down","lastError":"connection refused"}],"droppedTargets":[]}}`
		case "/api/v1/metadata":
			body = `{"status":"success","data":{"a_count":[{"type":"unknown","help":"h","unit":""}],"b_total":[{"type":"counter","help":"h","unit":""}]}}`
		case "/api/v1/rules":
			body = `{"status":"success","data":{"groups":[{"name":"g","file":"/r/x.yml","rules":[{"name":"a:b:rate5m","type":"recording"},{"name":"HighErrors","type":"alerting"}]}]}}`
		default:
			w.WriteHeader(http.StatusNotFound)
		}
		_, err := w.Write([]byte(body))
		assert.NoError(t, err)
	}))
	defer srv.Close()
	targets, err := Targets(context.Background(), srv.URL)
	require.NoError(t, err)
	assert.Equal(t, []Target{
		{ScrapeURL: "http://a/metrics", Health: "up"},
		{ScrapeURL: "http://b/metrics", Health: "down", LastError: "connection refused"},
	}, targets)
	types, err := Metadata(context.Background(), srv.URL)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a_count": "unknown", "b_total": "counter"}, types)
	groups, err := Rules(context.Background(), srv.URL)
	require.NoError(t, err)
	assert.Equal(t, []RuleGroup{{Name: "g", File: "/r/x.yml", Rules: []string{"a:b:rate5m", "HighErrors"}}}, groups)
}
