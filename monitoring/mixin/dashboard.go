// The SDK marks its classic dashboard model deprecated in favour of
// dashboardv2, the schema of Grafana 12's Kubernetes-style dashboard API. The
// classic JSON model is what every Grafana version imports (the UI's
// "Import dashboard" and file provisioning), so the generator keeps it.
//
//lint:file-ignore SA1019 the classic dashboard model is the one every Grafana imports; see above

package mixin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Template variables of the dashboards. Panel queries use them as
// job=~"$job", instance=~"$instance"; the instance variable's "All" value
// is AllInstances.
const (
	VarDatasource = "datasource"
	VarJob        = "job"
	VarInstance   = "instance"
	// AllInstances is the instance variable's value for "All".
	AllInstances = ".+"
)

// selector matches the dashboard's job and instance variables; its body
// takes further matchers.
const (
	selectorBody = `job=~"$job", instance=~"$instance"`
	selector     = "{" + selectorBody + "}"
)

// section is a row of panels.
type section struct {
	title  string
	panels []panel
}

// panel is one time-series panel and its queries.
type panel struct {
	title, description, unit string
	min, max                 *float64
	targets                  []target
}

// target is one query of a panel.
type target struct {
	expr, legend string
}

func float(f float64) *float64 { return &f }

// sections lays out the dashboard of c.
func sections(c Config) []section {
	byMethod := "sum by (" + c.methodLabels() + ")"
	method := "method"
	if l := c.methodLabel(); l != "" {
		method = l
	}
	traffic := section{title: "Requests and errors", panels: []panel{
		{
			title:       "Request rate by " + method,
			description: requestsOf(c.Flavour) + " per second, over 5 minutes, from " + RequestsRate + ".",
			unit:        "reqps", min: float(0),
			targets: []target{{
				expr:   fmt.Sprintf("%s (%s%s)", byMethod, RequestsRate, selector),
				legend: c.methodLegend(),
			}},
		},
		{
			title: "Error ratio by " + method,
			description: "Failed calls (" + failureKinds(c.Flavour) + ") over finished calls, over 5 minutes. " +
				"Methods that finished no call are not shown.",
			unit: "percentunit", min: float(0), max: float(1),
			targets: []target{{
				expr:   fmt.Sprintf("%s (%s%s)\n/\n(%s (%s%s) > 0)", byMethod, FailedRate, selector, byMethod, HandledRate, selector),
				legend: c.methodLegend(),
			}},
		},
		{
			title: "Error-budget burn rate",
			description: fmt.Sprintf("The job's error ratio over each window divided by the error budget %s (objective %s). "+
				"The fast-burn alert fires above %s over 1h and 5m, the slow one above %s over 6h and 30m. Not filtered by instance.",
				c.budget(), formatFloat(c.Objective), formatFloat(FastBurnFactor), formatFloat(SlowBurnFactor)),
			unit: "x", min: float(0),
			targets: burnTargets(c),
		},
		{
			title:       "Scrape targets up",
			description: "Targets of the job that Prometheus scraped successfully.",
			unit:        "short", min: float(0),
			targets: []target{{
				expr:   fmt.Sprintf("sum by (job) (up%s)", selector),
				legend: "{{job}}",
			}},
		},
	}}
	if c.Flavour == Milvus26 {
		return append(milvus26Sections(c, traffic), outgoing(c))
	}
	if c.Flavour == A66 {
		out := a66Sections(c, traffic) // ends with the outgoing calls
		for _, l := range c.ContextLabels {
			out = slices.Insert(out, len(out)-1, contextLabelSection(c.Flavour, l))
		}
		return out
	}
	out := []section{traffic}
	if c.Latency {
		q := func(quantile, by string) string {
			return fmt.Sprintf("histogram_quantile(%s, sum by (%s) (rate(%s%s[$__rate_interval])))", quantile, by, HandlingSecondsBucket, selector)
		}
		out = append(out, section{title: "Latency", panels: []panel{
			{
				title:       "Latency quantiles, all methods",
				description: "From the handling-time histogram " + HandlingSecondsBucket + "; empty where the histogram is off.",
				unit:        "s", min: float(0),
				targets: []target{
					{expr: q("0.5", "le"), legend: "p50"},
					{expr: q("0.9", "le"), legend: "p90"},
					{expr: q("0.99", "le"), legend: "p99"},
				},
			},
			{
				title:       "p99 latency by method",
				description: "From the handling-time histogram " + HandlingSecondsBucket + "; empty where the histogram is off.",
				unit:        "s", min: float(0),
				targets: []target{{
					expr:   q("0.99", "le, grpc_service, grpc_method"),
					legend: "{{grpc_service}}/{{grpc_method}}",
				}},
			},
		}})
	}
	for _, l := range c.ContextLabels {
		out = append(out, contextLabelSection(c.Flavour, l))
	}
	if c.Flavour == Milvus && hasClientRoutes(c.Routes) {
		out = append(out, section{title: "Clients", panels: []panel{
			{
				title:       "Top 10 clients by request rate",
				description: "Calls started per second by client_id, over 5 minutes, summed over the methods whose counters carry client_id.",
				unit:        "reqps", min: float(0),
				targets: []target{{
					expr:   fmt.Sprintf("topk(10, sum by (client_id) (%s%s))", ClientRequestsRate, selector),
					legend: "{{client_id}}",
				}},
			},
			{
				title: "Client-ID overflow",
				description: "Calls per second from clients beyond the interceptor's client limit, counted under client_overflow " +
					"(" + OverflowTotal + ").",
				unit: "reqps", min: float(0),
				targets: []target{{
					expr:   fmt.Sprintf("sum by (instance) (rate(%s%s[$__rate_interval]))", OverflowTotal, selector),
					legend: "{{instance}}",
				}},
			},
			{
				title:       "Tracked client IDs",
				description: "client_id values the interceptor tracks (" + ClientIDs + "), bounded by its client limit.",
				unit:        "short", min: float(0),
				targets: []target{{
					expr:   fmt.Sprintf("sum by (instance) (%s%s)", ClientIDs, selector),
					legend: "{{instance}}",
				}},
			},
		}})
	}
	return append(out, outgoing(c))
}

// contextLabelSection is the row of flavour f (generic or A66) for the
// context label l: the request rate and the error ratio by l, read from
// the families themselves (the recording rules sum l away).
func contextLabelSection(f Flavour, l string) section {
	by := "sum by (" + l + ")"
	rate := func(metric, matcher string) string {
		sel := selectorBody
		if matcher != "" {
			sel += ", " + matcher
		}
		return fmt.Sprintf("rate(%s{%s}[$__rate_interval])", metric, sel)
	}
	legend := "{{" + l + "}}"
	if f == A66 {
		return section{title: "By " + l, panels: []panel{
			{
				title: "Request rate by " + l,
				description: "Calls finished per second by the context label " + l + ", from " + A66ServerDurationCount + ". " +
					"The servers keep a bounded number of " + l + " values; the calls of further ones count under \"overflow\".",
				unit: "reqps", min: float(0),
				targets: []target{{expr: fmt.Sprintf("%s (%s)", by, rate(A66ServerDurationCount, "")), legend: legend}},
			},
			{
				title:       "Error ratio by " + l,
				description: "Calls that ended with " + failureKinds(A66) + ", over finished calls, by the context label " + l + ".",
				unit:        "percentunit", min: float(0), max: float(1),
				targets: []target{{
					expr: fmt.Sprintf("%s (\n  %s\n  or %s * 0\n)\n/\n(%s (%s) > 0)",
						by, rate(A66ServerDurationCount, `grpc_status!="OK"`), rate(A66ServerDurationCount, `grpc_status="OK"`),
						by, rate(A66ServerDurationCount, "")),
					legend: legend,
				}},
			},
		}}
	}
	return section{title: "By " + l, panels: []panel{
		{
			title: "Request rate by " + l,
			description: "Calls started per second by the context label " + l + ", from " + StartedTotal + ". " +
				"The servers keep a bounded number of " + l + " values; the calls of further ones count under \"overflow\".",
			unit: "reqps", min: float(0),
			targets: []target{{
				expr:   fmt.Sprintf("%s (%s)", by, rate(StartedTotal, "")),
				legend: legend,
			}},
		},
		{
			title: "Error ratio by " + l,
			description: "Failed calls (" + failureKinds(Generic) + ") over finished calls, by the context label " + l + ". " +
				"Values of " + l + " that finished no call are not shown.",
			unit: "percentunit", min: float(0), max: float(1),
			targets: []target{{
				expr: fmt.Sprintf("%s (\n  %s\n  or %s\n  or %s * 0\n)\n/\n(%s (%s) > 0)",
					by, rate(HandledTotal, `grpc_code!="OK"`), rate(ResponseFailedTotal, ""), rate(HandledTotal, `grpc_code="OK"`),
					by, rate(HandledTotal, "")),
				legend: legend,
			}},
		},
	}}
}

// milvus26Sections lays out the Milvus 2.6 flavour's dashboard but for the
// outgoing calls: traffic with the retry and rejected rates added, latency
// from Milvus's own histogram (milliseconds), and the collections.
func milvus26Sections(c Config, traffic section) []section {
	statusRate := func(status string) string {
		return fmt.Sprintf("sum by (%s) (rate(%s{%s}[$__rate_interval]))",
			Milvus26FunctionName, Milvus26ReqCount, matchers(selectorBody, "status="+quote(status)))
	}
	// After the request rate and the error ratio.
	traffic.panels = slices.Insert(traffic.panels, 2,
		panel{
			title: "Retry rate by " + Milvus26FunctionName,
			description: "Calls per second answered with a retryable failing status (status=\"retry\": code 8, rate limit, or 109, collection schema mismatch); " +
				"part of the error ratio.",
			unit: "reqps", min: float(0),
			targets: []target{{expr: statusRate(Milvus26StatusRetry), legend: c.methodLegend()}},
		},
		panel{
			title: "Rejected rate by " + Milvus26FunctionName,
			description: "Calls per second that ended with an error from the handler chain (status=\"rejected\": an interceptor's error, or a handler's panic turned into an error); " +
				"part of the error ratio.",
			unit: "reqps", min: float(0),
			targets: []target{{expr: statusRate(Milvus26StatusRejected), legend: c.methodLegend()}},
		},
	)
	out := []section{traffic}
	if c.causes() {
		out = append(out, milvus26CauseSection(c))
	}
	if c.Latency {
		// A function with no successful call in the window has empty
		// buckets and a NaN quantile, which ">= 0" leaves out.
		q := func(quantile, by string) string {
			return fmt.Sprintf("histogram_quantile(%s, sum by (%s) (rate(%s%s[$__rate_interval]))) >= 0", quantile, by, Milvus26ReqLatencyBucket, selector)
		}
		const latencyOf = "From Milvus's latency histogram " + Milvus26ReqLatencyBucket + ", in milliseconds, which holds the successful calls only; " +
			"functions with no successful call in the window are not shown."
		out = append(out, section{title: "Latency", panels: []panel{
			{
				title:       "Latency quantiles, all functions",
				description: latencyOf,
				unit:        "ms", min: float(0),
				targets: []target{
					{expr: q("0.5", "le"), legend: "p50"},
					{expr: q("0.9", "le"), legend: "p90"},
					{expr: q("0.99", "le"), legend: "p99"},
				},
			},
			{
				title:       "p99 latency by " + Milvus26FunctionName,
				description: latencyOf,
				unit:        "ms", min: float(0),
				targets: []target{{
					expr:   q("0.99", "le, "+Milvus26FunctionName),
					legend: c.methodLegend(),
				}},
			},
			{
				title: "p99 gRPC latency by status",
				description: "From " + Milvus26GRPCLatencyBucket + ", in milliseconds, the time of every call that ended, by its status, as Milvus's request interceptor observes it " +
					"(interceptor.WithGRPCLatency); empty where the set does not observe it.",
				unit: "ms", min: float(0),
				targets: []target{{
					expr: fmt.Sprintf("histogram_quantile(0.99, sum by (le, status) (rate(%s%s[$__rate_interval]))) >= 0",
						Milvus26GRPCLatencyBucket, selector),
					legend: "{{status}}",
				}},
			},
		}})
	}
	return append(out, section{title: "Collections", panels: []panel{
		{
			title:       "Top 10 collections by request rate",
			description: "Calls started per second by db_name and collection_name, over all functions (" + Milvus26ReqCount + ", status=\"total\").",
			unit:        "reqps", min: float(0),
			targets: []target{{
				expr: fmt.Sprintf("topk(10, sum by (db_name, collection_name) (rate(%s{%s}[$__rate_interval])))",
					Milvus26ReqCount, matchers(selectorBody, "status="+quote(Milvus26StatusTotal))),
				legend: "{{db_name}}/{{collection_name}}",
			}},
		},
		{
			title: "Collection overflow",
			description: "Calls per second counted under the overflow (db_name, collection_name) pair because the set's collection limit was reached " +
				"(" + Milvus26CollectionOverflowTotal + ").",
			unit: "reqps", min: float(0),
			targets: []target{{
				expr:   fmt.Sprintf("sum by (instance) (rate(%s%s[$__rate_interval]))", Milvus26CollectionOverflowTotal, selector),
				legend: "{{instance}}",
			}},
		},
		{
			title:       "Tracked collections",
			description: "(db_name, collection_name) pairs the set tracks (" + Milvus26Collections + "), bounded by its collection limit.",
			unit:        "short", min: float(0),
			targets: []target{{
				expr:   fmt.Sprintf("sum by (instance) (%s%s)", Milvus26Collections, selector),
				legend: "{{instance}}",
			}},
		},
	}})
}

// milvus26CauseSection lays out the failures of the lines with the cause
// label: the error ratio by cause, and the user against the system
// failures by function.
func milvus26CauseSection(c Config) section {
	failed := "status=~" + quote(Milvus26StatusFail+"|"+Milvus26StatusRejected)
	ended := "status=~" + quote(Milvus26StatusSuccess+"|"+Milvus26StatusFail+"|"+Milvus26StatusRetry+"|"+Milvus26StatusRejected)
	causeRate := func(cause string) string {
		return fmt.Sprintf("sum by (%s) (rate(%s{%s}[$__rate_interval]))", Milvus26FunctionName, Milvus26ReqCount,
			matchers(selectorBody, failed, Milvus26Cause+"="+quote(cause)))
	}
	return section{title: "Failures by cause", panels: []panel{
		{
			title: "Error ratio by cause",
			description: "Calls that failed (status fail or rejected) by who is responsible, over the calls that finished, over all functions: " +
				"user (the request: bad input, missing rights), system (Milvus), cancel (the client gave up). Retries, which have no cause, are not included.",
			unit: "percentunit", min: float(0), max: float(1),
			targets: []target{{
				expr: fmt.Sprintf("sum by (%s) (rate(%s{%s}[$__rate_interval]))\n/ ignoring (%s) group_left ()\n(sum (rate(%s{%s}[$__rate_interval])) > 0)",
					Milvus26Cause, Milvus26ReqCount, matchers(selectorBody, failed), Milvus26Cause, Milvus26ReqCount, matchers(selectorBody, ended)),
				legend: "{{" + Milvus26Cause + "}}",
			}},
		},
		{
			title: "User against system failures by " + Milvus26FunctionName,
			description: "Failed calls per second by function: those of cause user, which the callers must fix, against those of cause system, which are Milvus's own " +
				"(the GrpcmetricsSystemErrorRatio alert), and the cancelled ones.",
			unit: "reqps", min: float(0),
			targets: []target{
				{expr: causeRate(Milvus26CauseUser), legend: c.methodLegend() + " user"},
				{expr: causeRate(Milvus26CauseSystem), legend: c.methodLegend() + " system"},
				{expr: causeRate(Milvus26CauseCancel), legend: c.methodLegend() + " cancel"},
			},
		},
	}}
}

// requestsOf says what the request rate counts in flavour f.
func requestsOf(f Flavour) string {
	if f == A66 {
		return "Calls finished (the server's duration histogram counts them as they end)"
	}
	return "Calls started"
}

// outgoing is the section of the calls that the job's processes make,
// counted by interceptor.ClientMetrics. Its panels are empty where no
// ClientMetrics is installed.
func outgoing(c Config) section {
	byMethod := "sum by (grpc_service, grpc_method)"
	rate := func(metric string, extra ...string) string {
		return fmt.Sprintf("rate(%s{%s}[$__rate_interval])", metric, matchers(append([]string{selectorBody}, extra...)...))
	}
	// Failed as in the generic rules: every code but OK, plus the OK calls
	// whose body failed; the OK series times 0 make the sum exist for
	// every method that finished a call.
	failed := fmt.Sprintf("%s (\n  %s\n  or %s\n  or %s * 0\n)", byMethod,
		rate(ClientHandledTotal, `grpc_code!="OK"`), rate(ClientResponseFailedTotal), rate(ClientHandledTotal, `grpc_code="OK"`))
	handled := fmt.Sprintf("%s (%s)", byMethod, rate(ClientHandledTotal))
	s := section{title: "Outgoing calls", panels: []panel{
		{
			title:       "Outgoing request rate by method",
			description: "Calls the job's processes started per second (" + ClientStartedTotal + "); empty where no ClientMetrics counts them.",
			unit:        "reqps", min: float(0),
			targets: []target{{
				expr:   fmt.Sprintf("%s (%s)", byMethod, rate(ClientStartedTotal)),
				legend: "{{grpc_service}}/{{grpc_method}}",
			}},
		},
		{
			title: "Outgoing error ratio by method",
			description: "Outgoing calls that failed (a code other than OK, or a failing status in an OK response, " +
				ClientResponseFailedTotal + ") over those that finished. Methods that finished no call are not shown.",
			unit: "percentunit", min: float(0), max: float(1),
			targets: []target{{
				expr:   fmt.Sprintf("%s\n/\n(%s > 0)", failed, handled),
				legend: "{{grpc_service}}/{{grpc_method}}",
			}},
		},
	}}
	if c.Latency {
		s.panels = append(s.panels, panel{
			title:       "Outgoing p99 latency by method",
			description: "From the client histogram " + ClientHandlingSecondsBucket + "; empty where it is off.",
			unit:        "s", min: float(0),
			targets: []target{{
				expr:   fmt.Sprintf("histogram_quantile(0.99, %s (%s))", "sum by (le, grpc_service, grpc_method)", rate(ClientHandlingSecondsBucket)),
				legend: "{{grpc_service}}/{{grpc_method}}",
			}},
		})
	}
	return s
}

// burnTargets are the burn-rate panel's queries, one per window.
func burnTargets(c Config) []target {
	var ts []target
	for _, w := range Windows() {
		ts = append(ts, target{
			expr:   fmt.Sprintf("%s{job=~\"$job\"} / %s", JobErrorRatio(w), c.budget()),
			legend: w,
		})
	}
	return ts
}

// Dashboard builds the Grafana dashboard of c with Grafana's Go SDK.
func Dashboard(c Config) (dashboard.Dashboard, error) {
	if err := c.validate(); err != nil {
		return dashboard.Dashboard{}, err
	}
	ds := common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${" + VarDatasource + "}")}
	title := "grpcmetrics / " + map[Flavour]string{Milvus: "Milvus", Generic: "gRPC", Milvus26: "Milvus 2.6", A66: "gRPC A66"}[c.Flavour]
	if c.causes() {
		title += " (" + c.Milvus26Line + ")"
	}
	var exprs []string
	for _, s := range sections(c) {
		for _, p := range s.panels {
			for _, t := range p.targets {
				exprs = append(exprs, t.expr)
			}
		}
	}
	if err := c.checkContract(exprs); err != nil {
		return dashboard.Dashboard{}, err
	}
	b := dashboard.NewDashboardBuilder(title).
		Uid("grpcmetrics-"+strings.ReplaceAll(c.Name(), ".", "")).
		Description(fmt.Sprintf("Generated by grpcmetrics-gen (%s flavour) for job %q; reads the recorded series of the matching rule file.", c.Flavour, c.Job)).
		Tags([]string{"grpcmetrics", "grpc", string(c.Flavour)}).
		Refresh("30s").
		Time("now-1h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(dashboard.NewDatasourceVariableBuilder(VarDatasource).
			Label("Data source").
			Type("prometheus")).
		WithVariable(dashboard.NewQueryVariableBuilder(VarJob).
			Label("Job").
			Datasource(ds).
			Query(dashboard.StringOrMap{String: cog.ToPtr(fmt.Sprintf("label_values(%s, job)", RequestsRate))}).
			Current(option(c.Job, c.Job)).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalAsc)).
		WithVariable(dashboard.NewQueryVariableBuilder(VarInstance).
			Label("Instance").
			Datasource(ds).
			Query(dashboard.StringOrMap{String: cog.ToPtr(fmt.Sprintf("label_values(%s{job=~\"$job\"}, instance)", RequestsRate))}).
			Current(option("All", "$__all")).
			Multi(true).
			IncludeAll(true).
			AllValue(AllInstances).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalAsc))
	id := uint32(0)
	for _, s := range sections(c) {
		id++
		b = b.WithRow(dashboard.NewRowBuilder(s.title).Id(id))
		for _, p := range s.panels {
			id++
			b = b.WithPanel(timeseriesPanel(id, ds, p))
		}
	}
	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("mixin: building the dashboard: %w", err)
	}
	return d, nil
}

// timeseriesPanel builds p as a time-series panel.
func timeseriesPanel(id uint32, ds common.DataSourceRef, p panel) *timeseries.PanelBuilder {
	tp := timeseries.NewPanelBuilder().
		Id(id).
		Title(p.title).
		Description(p.description).
		Datasource(ds).
		Unit(p.unit).
		Span(12).
		Height(8).
		Legend(common.NewVizLegendOptionsBuilder().
			ShowLegend(true).
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending))
	if p.min != nil {
		tp = tp.Min(*p.min)
	}
	if p.max != nil {
		tp = tp.Max(*p.max)
	}
	var targets []cog.Builder[variants.Dataquery]
	for i, t := range p.targets {
		targets = append(targets, prometheus.NewDataqueryBuilder().
			RefId(string(rune('A'+i))).
			Datasource(ds).
			Expr(t.expr).
			LegendFormat(t.legend))
	}
	return tp.Targets(targets)
}

// option is a variable's current value.
func option(text, value string) dashboard.VariableOption {
	return dashboard.VariableOption{
		Text:  dashboard.StringOrArrayOfString{String: cog.ToPtr(text)},
		Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(value)},
	}
}

// DashboardJSON renders Dashboard(c) as indented JSON, ready to import.
func DashboardJSON(c Config) ([]byte, error) {
	d, err := Dashboard(c)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep PromQL's > and < readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("mixin: encoding the dashboard: %w", err)
	}
	return b.Bytes(), nil
}

// Queries returns every query of a dashboard in JSON form (as DashboardJSON
// writes it), keyed "panel title/refId", with Grafana's template variables
// left in place.
func Queries(dashboardJSON []byte) (map[string]string, error) {
	var d struct {
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dashboardJSON, &d); err != nil {
		return nil, fmt.Errorf("mixin: reading the dashboard: %w", err)
	}
	out := map[string]string{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			return nil, fmt.Errorf("mixin: panel %q has no queries", p.Title)
		}
		for _, t := range p.Targets {
			if strings.TrimSpace(t.Expr) == "" {
				return nil, fmt.Errorf("mixin: panel %q, query %s is empty", p.Title, t.RefID)
			}
			key := p.Title + "/" + t.RefID
			if _, dup := out[key]; dup {
				return nil, fmt.Errorf("mixin: two queries are named %s", key)
			}
			out[key] = t.Expr
		}
	}
	return out, nil
}
