package mixin

import "fmt"

// Metrics of the A66 flavour: gRPC's own metrics (gRFC A66), as
// interceptor.A66 and grpc-go's OpenTelemetry plugin (through the
// OpenTelemetry Prometheus exporter) write them. grpc_method names the
// method ("package.Service/Method", or "other"), grpc_status the call's
// code by its canonical name ("OK", "CANCELLED"), grpc_target (client
// side) the connection's target.
const (
	// A66ServerStartedTotal counts calls started, by grpc_method: at the
	// header, so also the calls of methods no service has, which never end.
	A66ServerStartedTotal = "grpc_server_call_started_total"
	// A66ServerDurationCount counts calls finished, by grpc_method and
	// grpc_status: the _count of the server's duration histogram.
	A66ServerDurationCount = "grpc_server_call_duration_seconds_count"
	// A66ServerDurationBucket is the buckets of the server's duration
	// histogram, in seconds.
	A66ServerDurationBucket = "grpc_server_call_duration_seconds_bucket"
	// A66ClientCallDurationCount counts the calls a process made, as its
	// application saw them, by grpc_method, grpc_target and grpc_status.
	A66ClientCallDurationCount = "grpc_client_call_duration_seconds_count"
	// A66ClientCallDurationBucket is the buckets of the client's call
	// duration histogram, in seconds.
	A66ClientCallDurationBucket = "grpc_client_call_duration_seconds_bucket"
	// A66ClientAttemptStartedTotal counts the attempts of the calls a
	// process made (retries add attempts), by grpc_method and grpc_target.
	A66ClientAttemptStartedTotal = "grpc_client_attempt_started_total"
	// A66Method is the label that names the method.
	A66Method = "grpc_method"
)

// a66Rules records the first-level series from gRPC's own server metrics.
// There is no handled counter: a call has finished when the duration
// histogram has counted it, and has failed when its grpc_status is not OK.
// The request rate is the finished calls' rate too: the started counter
// also counts the calls of methods no service has (under "other"), which
// never finish, so a rate of started calls would not match the handled
// and failed rates it is compared with.
func a66Rules(c Config) []Rule {
	rate := func(extra ...string) string {
		return "rate(" + c.raw(A66ServerDurationCount, extra...) + "[5m])"
	}
	return []Rule{
		{Record: RequestsRate, Expr: c.perInstance(A66Method, rate())},
		{Record: HandledRate, Expr: c.perInstance(A66Method, rate())},
		// The OK series times 0 make the sum exist (at 0) for every method
		// that succeeded, before it ever fails; "or" keeps both, as their
		// grpc_status values differ.
		{Record: FailedRate,
			Expr: c.perInstance(A66Method, fmt.Sprintf("\n  %s\n  or %s * 0\n", rate(`grpc_status!="OK"`), rate(`grpc_status="OK"`)))},
	}
}

// a66Sections lays out the A66 flavour's dashboard after the traffic
// section: latency from the server's duration histogram, and the outgoing
// calls from the client's metrics.
func a66Sections(c Config, traffic section) []section {
	out := []section{traffic}
	if c.Latency {
		// A method with no call in the window has empty buckets and a NaN
		// quantile, which ">= 0" leaves out.
		q := func(quantile, by string) string {
			return quantileQuery(quantile, A66ServerDurationBucket, by, selectorBody, true)
		}
		const latencyOf = "From the server's duration histogram " + A66ServerDurationBucket + " (every call, failed or not, from its header to its end); " +
			"methods with no call in the window are not shown."
		out = append(out, section{title: "Latency", panels: []panel{
			{
				title:       "Latency quantiles, all methods",
				description: latencyOf,
				unit:        "s", min: float(0),
				targets: []target{
					{expr: q("0.5", ""), legend: "p50"},
					{expr: q("0.9", ""), legend: "p90"},
					{expr: q("0.99", ""), legend: "p99"},
				},
			},
			{
				title:       "p99 latency by " + A66Method,
				description: latencyOf,
				unit:        "s", min: float(0),
				targets: []target{{expr: q("0.99", A66Method), legend: c.methodLegend()}},
			},
		}})
	}
	return append(out, a66Outgoing(c))
}

// a66Outgoing is the section of the calls that the job's processes make,
// from gRPC's own client metrics. Its panels are empty where no client
// side counts them.
func a66Outgoing(c Config) section {
	rate := func(metric string, extra ...string) string {
		return fmt.Sprintf("rate(%s{%s}[$__rate_interval])", metric, matchers(append([]string{selectorBody}, extra...)...))
	}
	by := "sum by (" + A66Method + ", grpc_target)"
	const legend = "{{grpc_target}} {{grpc_method}}"
	s := section{title: "Outgoing calls", panels: []panel{
		{
			title:       "Outgoing call rate by target and method",
			description: "Calls the job's processes finished per second (" + A66ClientCallDurationCount + "); empty where no client side counts them.",
			unit:        "reqps", min: float(0),
			targets: []target{{expr: fmt.Sprintf("%s (%s)", by, rate(A66ClientCallDurationCount)), legend: legend}},
		},
		{
			title:       "Outgoing error ratio by target and method",
			description: "Outgoing calls that ended with a grpc_status other than OK, over those that finished. Methods that finished no call are not shown.",
			unit:        "percentunit", min: float(0), max: float(1),
			targets: []target{{
				expr: fmt.Sprintf("%s (\n  %s\n  or %s * 0\n)\n/\n(%s (%s) > 0)", by,
					rate(A66ClientCallDurationCount, `grpc_status!="OK"`), rate(A66ClientCallDurationCount, `grpc_status="OK"`),
					by, rate(A66ClientCallDurationCount)),
				legend: legend,
			}},
		},
		{
			title: "Attempts per outgoing call",
			description: "Attempts started (" + A66ClientAttemptStartedTotal + ") over calls finished: 1 without retries or hedging; " +
				"below 1 where calls fail before any attempt (a context already done).",
			unit: "short", min: float(0),
			targets: []target{{
				expr:   fmt.Sprintf("%s (%s)\n/ on (%s, grpc_target)\n(%s (%s) > 0)", by, rate(A66ClientAttemptStartedTotal), A66Method, by, rate(A66ClientCallDurationCount)),
				legend: legend,
			}},
		},
	}}
	if c.Latency {
		s.panels = append(s.panels, panel{
			title:       "Outgoing p99 latency by target and method",
			description: "From the client's call duration histogram " + A66ClientCallDurationBucket + ", as the application saw the calls, retries included.",
			unit:        "s", min: float(0),
			targets: []target{{
				expr:   quantileQuery("0.99", A66ClientCallDurationBucket, A66Method+", grpc_target", selectorBody, true),
				legend: legend,
			}},
		})
	}
	return s
}
