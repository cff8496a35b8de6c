package mixin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

func milvusConfig(t *testing.T) Config {
	t.Helper()
	metrics := registry.New()
	require.NoError(t, metrics.Register(prometheus.NewRegistry())) // methodmap.Default wants registered counters
	m, err := methodmap.Default(metrics)
	require.NoError(t, err)
	routes, err := MilvusRoutes(m)
	require.NoError(t, err)
	c := DefaultConfig(Milvus)
	c.Routes = routes
	return c
}

func TestMilvusRoutes(t *testing.T) {
	c := milvusConfig(t)
	require.Len(t, c.Routes, 49)
	byMethod := map[string]Route{}
	for _, r := range c.Routes {
		byMethod[r.Service+"/"+r.Method] = r
	}
	tests := []struct {
		method string
		want   Route
	}{
		{"milvus.proto.rootcoord.RootCoord/CreateCollection", Route{
			Service: "milvus.proto.rootcoord.RootCoord", Method: "CreateCollection",
			Metric: "milvus_rootcoord_create_collection_total", CallLabel: registry.LabelType, ClientLabel: true,
		}},
		{"milvus.proto.milvus.MilvusService/CreateIndex", Route{
			Service: "milvus.proto.milvus.MilvusService", Method: "CreateIndex",
			Metric: "milvus_proxy_create_index_counter", CallLabel: registry.LabelStatus,
		}},
		{"milvus.proto.proxy.Proxy/GetDdChannel", Route{
			Service: "milvus.proto.proxy.Proxy", Method: "GetDdChannel",
			Metric: "milvus_proxy_get_dd_channel_total", CallLabel: registry.LabelStatus,
		}},
		{"milvus.proto.data.DataNode/WatchDmChannels", Route{
			Service: "milvus.proto.data.DataNode", Method: "WatchDmChannels",
			Metric: "milvus_dataNode_watch_dm_channels_total", CallLabel: registry.LabelType,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			assert.Equal(t, tt.want, byMethod[tt.method])
		})
	}
	clients := 0
	for _, r := range c.Routes {
		if r.ClientLabel {
			clients++
			assert.Equal(t, "milvus.proto.rootcoord.RootCoord", r.Service)
		}
	}
	assert.Equal(t, 14, clients, "the 14 RootCoord counters carry client_id")
}

func TestDescribeRouteErrors(t *testing.T) {
	odd := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "odd_total", Help: "h"}, []string{"code"})
	_, err := describeRoute("/pkg.Svc/M", odd)
	require.ErrorContains(t, err, "none of the label sets")
	_, err = describeRoute("no-slash", odd)
	require.Error(t, err)
	_, err = describeRoute("/pkg.Svc/M", nil)
	require.ErrorContains(t, err, "no counter")
}

func TestConfigValidate(t *testing.T) {
	good := Route{Service: "pkg.Svc", Method: "M", Metric: "m_total", CallLabel: registry.LabelStatus}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{name: "milvus default", edit: func(*Config) {}},
		{name: "generic default", edit: func(c *Config) { *c = DefaultConfig(Generic) }},
		{name: "unknown flavour", edit: func(c *Config) { c.Flavour = "mysql" }, wantErr: `unknown flavour "mysql"`},
		{name: "milvus without routes", edit: func(c *Config) { c.Routes = nil }, wantErr: "needs routes"},
		{name: "generic with routes", edit: func(c *Config) { c.Flavour = Generic }, wantErr: "takes no routes"},
		{name: "milvus26 default", edit: func(c *Config) { *c = DefaultConfig(Milvus26) }},
		{name: "milvus26 with routes", edit: func(c *Config) { c.Flavour = Milvus26 }, wantErr: "the milvus26 flavour takes no routes"},
		{name: "a66 default", edit: func(c *Config) { *c = DefaultConfig(A66) }},
		{name: "a66 with routes", edit: func(c *Config) { c.Flavour = A66 }, wantErr: "the a66 flavour takes no routes"},
		{name: "one job", edit: func(c *Config) { c.Job = "milvus" }},
		{name: "job not UTF-8", edit: func(c *Config) { c.Job = "a\xff" }, wantErr: "is not valid UTF-8"},
		{name: "replica labels", edit: func(c *Config) { c.ReplicaLabels = []string{"replica", "cluster"} }},
		{name: "replica label invalid", edit: func(c *Config) { c.ReplicaLabels = []string{"a-b"} }, wantErr: `replica label "a-b" is not a valid label name`},
		{name: "replica label read already", edit: func(c *Config) { c.ReplicaLabels = []string{"instance"} }, wantErr: `replica label "instance" is a label the rules read already`},
		{name: "replica label is the flavour label", edit: func(c *Config) { c.ReplicaLabels = []string{FlavourLabel} }, wantErr: "a label the rules read already"},
		{name: "replica label twice", edit: func(c *Config) { c.ReplicaLabels = []string{"replica", "replica"} }, wantErr: `replica label "replica" is given twice`},
		{name: "objective 0", edit: func(c *Config) { c.Objective = 0 }, wantErr: "objective 0 is not"},
		{name: "objective 1", edit: func(c *Config) { c.Objective = 1 }, wantErr: "objective 1 is not"},
		{name: "objective too low to page", edit: func(c *Config) { c.Objective = 0.9 }, wantErr: "use an objective above 0.9306"},
		{name: "error ratio 0", edit: func(c *Config) { c.ErrorRatio = 0 }, wantErr: "error ratio 0 is not"},
		{name: "error ratio 1", edit: func(c *Config) { c.ErrorRatio = 1 }, wantErr: "error ratio 1 is not"},
		{name: "bad service", edit: func(c *Config) { c.Routes = []Route{{Service: "x y", Method: "M", Metric: "m", CallLabel: "status"}} }, wantErr: "route"},
		{name: "bad metric", edit: func(c *Config) {
			c.Routes = []Route{{Service: "pkg.Svc", Method: "M", Metric: "1m", CallLabel: "status"}}
		}, wantErr: `invalid metric name "1m"`},
		{name: "bad call label", edit: func(c *Config) { c.Routes = []Route{{Service: "pkg.Svc", Method: "M", Metric: "m", CallLabel: "code"}} }, wantErr: `call label "code"`},
		{name: "duplicate method", edit: func(c *Config) {
			other := good
			other.Metric = "n_total"
			c.Routes = []Route{good, other}
		}, wantErr: "appears twice"},
		{name: "shared counter", edit: func(c *Config) {
			other := good
			other.Method = "N"
			c.Routes = []Route{good, other}
		}, wantErr: "share counter m_total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := milvusConfig(t)
			tt.edit(&c)
			_, rerr := Rules(c)
			_, derr := Dashboard(c)
			if tt.wantErr == "" {
				assert.NoError(t, rerr)
				assert.NoError(t, derr)
				return
			}
			assert.ErrorContains(t, rerr, tt.wantErr)
			assert.ErrorContains(t, derr, tt.wantErr)
		})
	}
}

func TestRules(t *testing.T) {
	tests := []struct {
		name       string
		config     func(t *testing.T) Config
		recordings int
		alerts     []string
	}{
		{
			name:   "milvus",
			config: milvusConfig,
			// three per route, one more per client route, and the aggregates
			recordings: 49*3 + 14 + 4 + len(Windows()),
			alerts:     []string{AlertHighErrorRatio, AlertFastBurn, AlertSlowBurn, AlertClientOverflow, AlertMetricsRefused, AlertTargetDown, AlertTargetMissing},
		},
		{
			name:       "generic",
			config:     func(*testing.T) Config { return DefaultConfig(Generic) },
			recordings: 3 + 4 + len(Windows()),
			alerts: []string{AlertHighErrorRatio, AlertFastBurn, AlertSlowBurn, AlertContextLabelsOverflow, AlertCallsBeforeInit,
				AlertMetricsRefused, AlertTargetDown, AlertTargetMissing},
		},
		{
			name:       "milvus26",
			config:     func(*testing.T) Config { return DefaultConfig(Milvus26) },
			recordings: 3 + 4 + len(Windows()),
			alerts:     []string{AlertHighErrorRatio, AlertFastBurn, AlertSlowBurn, AlertCollectionOverflow, AlertMetricsRefused, AlertTargetDown, AlertTargetMissing},
		},
		{
			name: "milvus26-v2.6.21",
			config: func(*testing.T) Config {
				c := DefaultConfig(Milvus26)
				c.Milvus26Line = Milvus26V2621
				return c
			},
			// the failures by cause, and the error ratio by cause
			recordings: 3 + 4 + len(Windows()) + 2,
			alerts: []string{AlertHighErrorRatio, AlertFastBurn, AlertSlowBurn, AlertSystemErrorRatio, AlertCollectionOverflow,
				AlertMetricsRefused, AlertTargetDown, AlertTargetMissing},
		},
		{
			name:       "a66",
			config:     func(*testing.T) Config { return DefaultConfig(A66) },
			recordings: 3 + 4 + len(Windows()),
			alerts:     []string{AlertHighErrorRatio, AlertFastBurn, AlertSlowBurn, AlertContextLabelsOverflow, AlertMetricsRefused, AlertTargetDown, AlertTargetMissing},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.config(t)
			data, err := RulesYAML(c)
			require.NoError(t, err)
			var f RuleFile
			require.NoError(t, yaml.Unmarshal(data, &f))
			require.Len(t, f.Groups, 2)
			assert.Equal(t, "grpcmetrics-"+tt.name+".rules", f.Groups[0].Name)
			assert.Len(t, f.Groups[0].Rules, tt.recordings)
			var alerts []string
			for _, r := range f.Groups[1].Rules {
				alerts = append(alerts, r.Alert)
				assert.NotEmpty(t, r.Labels["severity"], r.Alert)
				assert.NotEmpty(t, r.Annotations["summary"], r.Alert)
				assert.NotEmpty(t, r.Annotations["description"], r.Alert)
			}
			assert.Equal(t, tt.alerts, alerts)
			// No job by default: every series is selected by name, and
			// every recorded one is of its flavour.
			for _, g := range f.Groups {
				for _, r := range g.Rules {
					assert.NotContains(t, r.Expr, "job=", r.Record+r.Alert)
					if r.Record != "" {
						assert.Equal(t, string(c.Flavour), r.Labels[FlavourLabel], r.Record)
					}
					for _, name := range []string{RequestsRate, HandledRate, FailedRate, JobFailedRate, JobHandledRate, CauseFailedRate, MethodCauseErrorRatio} {
						if strings.Contains(r.Expr, name+"{") {
							assert.Contains(t, r.Expr, name+`{`+FlavourLabel+`="`+string(c.Flavour)+`"`, r.Record+r.Alert)
						}
					}
				}
			}
			// With a job, every rule selects it.
			c.Job = "api"
			f2, err := Rules(c)
			require.NoError(t, err)
			for _, g := range f2.Groups {
				for _, r := range g.Rules {
					assert.Contains(t, r.Expr, `job="api"`, r.Record+r.Alert)
				}
			}
		})
	}
}

// TestRulesReplicaLabels checks that with replica labels every first-level
// rule sums each replica apart and takes the largest, and the rules above
// read the result.
func TestRulesReplicaLabels(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name(), func(t *testing.T) {
			c := v
			if c.Flavour == Milvus {
				c = milvusConfig(t)
			}
			c.ReplicaLabels = []string{"replica", "cluster"}
			rf, err := Rules(c)
			require.NoError(t, err)
			for _, r := range rf.Groups[0].Rules {
				if !strings.HasPrefix(r.Record, "instance_method") || r.Record == InstanceMethodErrorRatio {
					assert.NotContains(t, r.Expr, "replica", r.Record)
					continue
				}
				assert.Regexp(t, `^max by \(job, instance[^)]*\) \(\n  sum by \(job, instance[^)]*, replica, cluster\) \(`, r.Expr, r.Record)
			}
		})
	}
}

func TestRulesThresholds(t *testing.T) {
	c := DefaultConfig(Generic)
	c.Objective, c.ErrorRatio, c.Job = 0.995, 0.1, "api"
	f, err := Rules(c)
	require.NoError(t, err)
	exprs := map[string]string{}
	for _, r := range f.Groups[1].Rules {
		exprs[r.Alert] = r.Expr
	}
	const sel = `{grpcmetrics_flavour="generic", job="api"}`
	assert.Equal(t, `instance_method:grpcmetrics_error_ratio:rate5m`+sel+` > 0.1`, exprs[AlertHighErrorRatio])
	assert.Equal(t, "job:grpcmetrics_error_ratio:rate1h"+sel+" > (14.4 * 0.005)\nand\njob:grpcmetrics_error_ratio:rate5m"+sel+" > (14.4 * 0.005)", exprs[AlertFastBurn])
	assert.Equal(t, "job:grpcmetrics_error_ratio:rate6h"+sel+" > (6 * 0.005)\nand\njob:grpcmetrics_error_ratio:rate30m"+sel+" > (6 * 0.005)", exprs[AlertSlowBurn])
}

func TestDashboard(t *testing.T) {
	tests := []struct {
		name     string
		config   func(t *testing.T) Config
		latency  bool
		wantRows []string
	}{
		{name: "milvus", config: milvusConfig, latency: true, wantRows: []string{"Requests and errors", "Latency", "Clients", "Outgoing calls"}},
		{name: "generic", config: func(*testing.T) Config { return DefaultConfig(Generic) }, latency: true, wantRows: []string{"Requests and errors", "Latency", "Outgoing calls"}},
		{name: "milvus without latency", config: milvusConfig, wantRows: []string{"Requests and errors", "Clients", "Outgoing calls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.config(t)
			c.Latency = tt.latency
			data, err := DashboardJSON(c)
			require.NoError(t, err)
			var d struct {
				UID        string `json:"uid"`
				Templating struct {
					List []struct {
						Name  string `json:"name"`
						Type  string `json:"type"`
						Query string `json:"query"`
					} `json:"list"`
				} `json:"templating"`
				Panels []struct {
					ID         int    `json:"id"`
					Type       string `json:"type"`
					Title      string `json:"title"`
					Datasource struct {
						UID string `json:"uid"`
					} `json:"datasource"`
				} `json:"panels"`
			}
			require.NoError(t, json.Unmarshal(data, &d))
			assert.Equal(t, "grpcmetrics-"+string(c.Flavour), d.UID)
			var vars []string
			for _, v := range d.Templating.List {
				vars = append(vars, v.Type+":"+v.Name)
			}
			assert.Equal(t, []string{"datasource:datasource", "query:job", "query:instance"}, vars)
			var rows []string
			ids := map[int]bool{}
			for _, p := range d.Panels {
				assert.False(t, ids[p.ID], "panel id %d twice", p.ID)
				ids[p.ID] = true
				if p.Type == "row" {
					rows = append(rows, p.Title)
					continue
				}
				assert.Equal(t, "${datasource}", p.Datasource.UID, p.Title)
			}
			assert.Equal(t, tt.wantRows, rows)
			queries, err := Queries(data)
			require.NoError(t, err)
			hasLatency, hasClientLatency := false, false
			for key, q := range queries {
				if strings.Contains(q, HandlingSecondsBucket) {
					hasLatency = true
				}
				if strings.Contains(q, ClientHandlingSecondsBucket) {
					hasClientLatency = true
				}
				if !strings.Contains(q, `job=~"$job"`) {
					t.Errorf("%s does not filter on $job: %s", key, q)
				}
			}
			assert.Equal(t, tt.latency, hasLatency)
			assert.Equal(t, tt.latency, hasClientLatency)
		})
	}
}

func TestQueriesErrors(t *testing.T) {
	tests := []struct {
		name, json, wantErr string
	}{
		{"not json", `{`, "reading the dashboard"},
		{"no targets", `{"panels":[{"type":"timeseries","title":"p"}]}`, `panel "p" has no queries`},
		{"empty expr", `{"panels":[{"type":"timeseries","title":"p","targets":[{"refId":"A","expr":" "}]}]}`, "query A is empty"},
		{"duplicate", `{"panels":[{"type":"timeseries","title":"p","targets":[{"refId":"A","expr":"up"},{"refId":"A","expr":"up"}]}]}`, "two queries are named p/A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Queries([]byte(tt.json))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
	q, err := Queries([]byte(`{"panels":[{"type":"row","title":"r"},{"type":"timeseries","title":"p","targets":[{"refId":"A","expr":"up"}]}]}`))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"p/A": "up"}, q)
}

// TestDashboardRoundTrip reads each generated dashboard back with the SDK's
// own decoder (panels and queries included, with the SDK's panel and query
// plugins registered) and checks that it validates and encodes to the same
// JSON as the model it was written from.
func TestDashboardRoundTrip(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	for _, c := range []Config{milvusConfig(t), DefaultConfig(Generic), DefaultConfig(Milvus26), DefaultConfig(A66)} {
		t.Run(string(c.Flavour), func(t *testing.T) {
			want, err := Dashboard(c)
			require.NoError(t, err)
			data, err := DashboardJSON(c)
			require.NoError(t, err)
			//lint:ignore SA1019 the classic model is the one the generator writes (see dashboard.go)
			var got dashboard.Dashboard
			// Not UnmarshalJSONStrict: in v0.0.22 it drops every panel, as a
			// Panel's strict decoder returns an empty, non-nil BuildErrors.
			require.NoError(t, json.Unmarshal(data, &got))
			require.NoError(t, got.Validate())
			again, err := json.MarshalIndent(got, "", "  ")
			require.NoError(t, err)
			wantJSON, err := json.MarshalIndent(want, "", "  ")
			require.NoError(t, err)
			assert.Equal(t, string(wantJSON), string(again), "the dashboard read back differs from the one written")
		})
	}
}
