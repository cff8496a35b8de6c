package mixin

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestContextLabelPanels checks that the generic dashboard gains, for each
// context label, a row with the request rate and the error ratio by that
// label, and nothing else changes.
func TestContextLabelPanels(t *testing.T) {
	plain, err := DashboardJSON(DefaultConfig(Generic))
	require.NoError(t, err)
	c := DefaultConfig(Generic)
	c.ContextLabels = []string{"tenant", "region"}
	data, err := DashboardJSON(c)
	require.NoError(t, err)
	before, err := Queries(plain)
	require.NoError(t, err)
	after, err := Queries(data)
	require.NoError(t, err)
	added := map[string]string{}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			added[k] = v
		}
	}
	for k, v := range before {
		assert.Equal(t, v, after[k], "query %s", k)
	}
	require.Len(t, added, 4, "two panels of one query per label: %v", added)
	for _, l := range c.ContextLabels {
		var rate, ratio string
		for k, v := range added {
			switch k {
			case "Request rate by " + l + "/A":
				rate = v
			case "Error ratio by " + l + "/A":
				ratio = v
			}
		}
		assert.Equal(t, `sum by (`+l+`) (rate(grpc_server_started_total{job=~"$job", instance=~"$instance"}[$__rate_interval]))`, rate)
		assert.Contains(t, ratio, `sum by (`+l+`) (`)
		assert.Contains(t, ratio, `rate(grpcmetrics_server_response_failed_total{job=~"$job", instance=~"$instance"}[$__rate_interval])`)
		assert.Contains(t, ratio, `/
(sum by (`+l+`) (rate(grpc_server_handled_total{job=~"$job", instance=~"$instance"}[$__rate_interval])) > 0)`)
	}
}

// TestContextLabelPanelsA66 checks the A66 flavour's rows by a context
// label: read from the server's duration histogram's count, errors by
// grpc_status, placed before the outgoing calls, every other query as
// without the label.
func TestContextLabelPanelsA66(t *testing.T) {
	plain, err := DashboardJSON(DefaultConfig(A66))
	require.NoError(t, err)
	c := DefaultConfig(A66)
	c.ContextLabels = []string{"tenant"}
	data, err := DashboardJSON(c)
	require.NoError(t, err)
	before, err := Queries(plain)
	require.NoError(t, err)
	after, err := Queries(data)
	require.NoError(t, err)
	for k, v := range before {
		assert.Equal(t, v, after[k], "query %s", k)
	}
	require.Len(t, after, len(before)+2)
	assert.Equal(t, `sum by (tenant) (rate(grpc_server_call_duration_seconds_count{job=~"$job", instance=~"$instance"}[$__rate_interval]))`,
		after["Request rate by tenant/A"])
	assert.Contains(t, after["Error ratio by tenant/A"], `grpc_status!="OK"`)
}

func TestContextLabelValidate(t *testing.T) {
	for _, tt := range []struct {
		name    string
		flavour Flavour
		labels  []string
		wantErr string
	}{
		{name: "tenant", flavour: Generic, labels: []string{"tenant"}},
		{name: "milvus26", flavour: Milvus26, labels: []string{"tenant"}, wantErr: "the milvus26 flavour takes no context labels"},
		{name: "a66", flavour: A66, labels: []string{"tenant"}},
		{name: "a66 family label", flavour: A66, labels: []string{"grpc_status"}, wantErr: `context label "grpc_status" is a label`},
		{name: "invalid", flavour: Generic, labels: []string{"1tenant"}, wantErr: `context label "1tenant" is not a valid label name`},
		{name: "reserved", flavour: Generic, labels: []string{"__tenant"}, wantErr: `context label "__tenant" is not a valid label name`},
		{name: "family label", flavour: Generic, labels: []string{"grpc_code"}, wantErr: `context label "grpc_code" is a label`},
		{name: "instance", flavour: Generic, labels: []string{"instance"}, wantErr: `context label "instance" is a label`},
		{name: "twice", flavour: Generic, labels: []string{"tenant", "tenant"}, wantErr: `context label "tenant" is given twice`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig(tt.flavour)
			c.ContextLabels = tt.labels
			_, err := DashboardJSON(c)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
