package mixin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMilvus26Dashboard checks the Milvus 2.6 flavour's layout: rows, the
// panels an operator of Milvus 2.6 looks for, method names in
// function_name, latency from milvus_proxy_req_latency in milliseconds,
// and every query filtered on $job.
func TestMilvus26Dashboard(t *testing.T) {
	tests := []struct {
		name    string
		latency bool
		rows    []string
	}{
		{name: "latency", latency: true, rows: []string{"Requests and errors", "Latency", "Collections", "Outgoing calls"}},
		{name: "no latency", rows: []string{"Requests and errors", "Collections", "Outgoing calls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig(Milvus26)
			c.Latency = tt.latency
			data, err := DashboardJSON(c)
			require.NoError(t, err)
			var d struct {
				UID    string `json:"uid"`
				Title  string `json:"title"`
				Panels []struct {
					Type        string `json:"type"`
					Title       string `json:"title"`
					FieldConfig struct {
						Defaults struct {
							Unit string `json:"unit"`
						} `json:"defaults"`
					} `json:"fieldConfig"`
				} `json:"panels"`
			}
			require.NoError(t, json.Unmarshal(data, &d))
			assert.Equal(t, "grpcmetrics-milvus26", d.UID)
			assert.Equal(t, "grpcmetrics / Milvus 2.6", d.Title)
			var rows []string
			units := map[string]string{}
			for _, p := range d.Panels {
				if p.Type == "row" {
					rows = append(rows, p.Title)
					continue
				}
				units[p.Title] = p.FieldConfig.Defaults.Unit
			}
			assert.Equal(t, tt.rows, rows)
			for _, title := range []string{
				"Request rate by function_name", "Retry rate by function_name", "Rejected rate by function_name",
				"Top 10 collections by request rate", "Collection overflow",
			} {
				assert.Equal(t, "reqps", units[title], title)
			}
			assert.Equal(t, "percentunit", units["Error ratio by function_name"])
			if tt.latency {
				assert.Equal(t, "ms", units["Latency quantiles, all functions"])
				assert.Equal(t, "ms", units["p99 latency by function_name"])
			}
			queries, err := Queries(data)
			require.NoError(t, err)
			hasLatency := false
			for key, q := range queries {
				assert.Contains(t, q, `job=~"$job"`, key)
				assert.NotContains(t, q, HandlingSecondsBucket, "%s: the server histogram of the other flavours", key)
				hasLatency = hasLatency || strings.Contains(q, Milvus26ReqLatencyBucket)
			}
			assert.Equal(t, tt.latency, hasLatency)
			assert.Equal(t, "sum by (function_name) (rate(milvus_proxy_req_count{job=~\"$job\", instance=~\"$instance\", status=\"retry\"}[$__rate_interval]))",
				queries["Retry rate by function_name/A"])
			assert.Equal(t, "topk(10, sum by (db_name, collection_name) (rate(milvus_proxy_req_count{job=~\"$job\", instance=~\"$instance\", status=\"total\"}[$__rate_interval])))",
				queries["Top 10 collections by request rate/A"])
		})
	}
}

// TestMilvus26Rules checks the first-level rules of the Milvus 2.6 flavour:
// started is status total, finished any of the four outcomes, failed any
// but success (retry included), and the per-method series by function_name.
func TestMilvus26Rules(t *testing.T) {
	c := DefaultConfig(Milvus26)
	c.Job = "proxy"
	f, err := Rules(c)
	require.NoError(t, err)
	exprs := map[string]string{}
	for _, r := range f.Groups[0].Rules {
		exprs[r.Record] = r.Expr
		assert.Equal(t, map[string]string{FlavourLabel: string(Milvus26)}, r.Labels, r.Record)
	}
	assert.Equal(t, `sum by (job, instance, function_name) (rate(milvus_proxy_req_count{job="proxy", status="total"}[5m]))`, exprs[RequestsRate])
	assert.Equal(t, `sum by (job, instance, function_name) (rate(milvus_proxy_req_count{job="proxy", status=~"success|fail|retry|rejected"}[5m]))`, exprs[HandledRate])
	assert.Equal(t, "sum by (job, instance, function_name) (\n  rate(milvus_proxy_req_count{job=\"proxy\", status=~\"fail|retry|rejected\"}[5m])\n  or rate(milvus_proxy_req_count{job=\"proxy\", status=\"success\"}[5m]) * 0\n)", exprs[FailedRate])
	assert.Equal(t, "sum by (job, function_name) (instance_method:grpcmetrics_failed:rate5m{grpcmetrics_flavour=\"milvus26\", job=\"proxy\"})\n/\n(sum by (job, function_name) (instance_method:grpcmetrics_handled:rate5m{grpcmetrics_flavour=\"milvus26\", job=\"proxy\"}) > 0)", exprs[MethodErrorRatio])
	alerts := map[string]Rule{}
	for _, r := range f.Groups[1].Rules {
		alerts[r.Alert] = r
	}
	assert.Equal(t, `sum by (job, instance) (increase(grpcmetrics_collection_overflow_total{job="proxy"}[10m])) > 0`, alerts[AlertCollectionOverflow].Expr)
	assert.Contains(t, alerts[AlertHighErrorRatio].Annotations["summary"], "{{ $labels.function_name }}")
	assert.Contains(t, alerts[AlertHighErrorRatio].Annotations["description"], "fail, retry or rejected")
	assert.NotContains(t, alerts[AlertHighErrorRatio].Annotations["summary"], "grpc_method")
}

// TestMilvus26LineReplacesFlavourFile checks the contract between the
// Milvus 2.6 flavour's rule file and a line's: the line's records every
// series of the flavour's, with the same expression and the same labels
// (grpcmetrics_flavour="milvus26", so that the flavour's dashboard reads
// the line's series too), and the series by cause besides. The two files
// are alternatives: loaded together they would write the same series
// twice, so a line's file keeps the flavour label rather than one of its
// own, and its groups are named after the line so that promtool and
// Prometheus's rule page tell the files apart.
func TestMilvus26LineReplacesFlavourFile(t *testing.T) {
	base, err := Rules(DefaultConfig(Milvus26))
	require.NoError(t, err)
	for _, l := range []string{Milvus26V2620, Milvus26V2621} {
		t.Run(l, func(t *testing.T) {
			c := DefaultConfig(Milvus26)
			c.Milvus26Line = l
			line, err := Rules(c)
			require.NoError(t, err)
			assert.Equal(t, "grpcmetrics-milvus26-"+l+".rules", line.Groups[0].Name)
			assert.Equal(t, "grpcmetrics-milvus26-"+l+".alerts", line.Groups[1].Name)
			for i, g := range base.Groups {
				extra := map[string]bool{}
				for _, r := range line.Groups[i].Rules {
					assert.Equal(t, string(Milvus26), r.Labels[FlavourLabel], r.Record+r.Alert)
					extra[r.Record+r.Alert] = true
				}
				for _, r := range g.Rules {
					assert.Contains(t, line.Groups[i].Rules, r, "the line's file lacks %s%s of the flavour's", r.Record, r.Alert)
					delete(extra, r.Record+r.Alert)
				}
				want := map[string]bool{CauseFailedRate: true, MethodCauseErrorRatio: true}
				if i == 1 {
					want = map[string]bool{AlertSystemErrorRatio: true}
				}
				assert.Equal(t, want, extra)
			}
		})
	}
}
