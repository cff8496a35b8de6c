package contract

import "slices"

// declared is what the contract says of one set beyond the families that
// Drive gathers: the domains of the labels whose values the set chooses,
// the options that turn families on, and the labels options add.
type declared struct {
	title string
	// domains are label name → values, for every family of the set that
	// has the label, unless byFamily says otherwise for that family.
	domains  map[string][]string
	byFamily map[string]map[string][]string
	// options are family name → the option that turns it on.
	options map[string]string
	// optional are family name → label name → the option that adds it.
	optional map[string]map[string]string
	// skip are families the set does not write (the registry's gauges,
	// which callers set by hand).
	skip func(name, typ string) bool
}

// grpcCodes are grpc_code's values: the names grpc-go's codes.Code
// String gives OK to Unauthenticated; the provider counts a code above
// under Unknown.
func grpcCodes() []string {
	return []string{"Aborted", "AlreadyExists", "Canceled", "DataLoss", "DeadlineExceeded",
		"FailedPrecondition", "Internal", "InvalidArgument", "NotFound", "OK", "OutOfRange",
		"PermissionDenied", "ResourceExhausted", "Unauthenticated", "Unavailable",
		"Unimplemented", "Unknown"}
}

// a66Codes are grpc_status's values: gRPC's canonical names of the codes.
func a66Codes() []string {
	return []string{"ABORTED", "ALREADY_EXISTS", "CANCELLED", "DATA_LOSS", "DEADLINE_EXCEEDED",
		"FAILED_PRECONDITION", "INTERNAL", "INVALID_ARGUMENT", "NOT_FOUND", "OK", "OUT_OF_RANGE",
		"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "UNAUTHENTICATED", "UNAVAILABLE",
		"UNIMPLEMENTED", "UNKNOWN"}
}

// grpcTypes are grpc_type's values.
func grpcTypes() []string {
	return []string{"bidi_stream", "client_stream", "server_stream", "unary"}
}

// histogramDeclared adds to d the latency histogram of an install with
// WithHistogram, named name, and its optional grpc_code.
func histogramDeclared(d declared, name string) declared {
	d.options[name] = "WithHistogram"
	d.optional[name] = map[string]string{"grpc_code": "Histogram.CodeLabel"}
	return d
}

// milvus26Declared is the declaration of Milvus26 on line ("v2.6.16",
// "v2.6.20" or "v2.6.21").
func milvus26Declared(line string) declared {
	status := []string{"abandon", "fail", "rejected", "retry", "success", "total"}
	ended := []string{"fail", "rejected", "retry", "success"}
	count := map[string][]string{"status": status}
	latency := map[string][]string{"status": ended}
	switch line {
	case "v2.6.20":
		count["cause"] = []string{"cancel", "na", "system", "user"}
		latency["cause"] = []string{"cancel", "na", "system", "user"}
	case "v2.6.21":
		count["cause"] = []string{"", "cancel", "system", "user"}
		latency["cause"] = []string{"", "cancel", "system", "user"}
	}
	d := declared{
		title: "Milvus 2.6's request counters, release line " + line + " (interceptor.NewMilvus26, WithLine)",
		// Milvus26 counts unary calls only: an install of it alone times no
		// stream.
		domains:  map[string][]string{"grpc_type": {"unary"}, "grpc_code": grpcCodes()},
		byFamily: map[string]map[string][]string{"milvus_proxy_req_count": count, "milvus_proxy_grpc_latency": latency},
		options: map[string]string{
			"milvus_proxy_req_latency":  "WithReqLatency",
			"milvus_proxy_grpc_latency": "WithGRPCLatency",
		},
		optional: map[string]map[string]string{},
	}
	return histogramDeclared(d, "grpc_server_handling_seconds")
}

// declarations returns the declaration of every set, by name, in the
// contract's order.
func declarations() []struct {
	name string
	declared
} {
	outcome := []string{"fail", "success", "total"}
	type named = struct {
		name string
		declared
	}
	return []named{
		{"milvus", histogramDeclared(declared{
			title:    "Milvus v2.0's counters (interceptor.NewMilvusCounters over methodmap.Default; registry)",
			domains:  map[string][]string{"status": outcome, "type": outcome, "grpc_type": grpcTypes(), "grpc_code": grpcCodes()},
			options:  map[string]string{},
			optional: map[string]map[string]string{},
			skip: func(name, typ string) bool {
				return typ == "gauge" && len(name) > len("milvus_") && name[:len("milvus_")] == "milvus_"
			},
		}, "grpc_server_handling_seconds")},
		{"provider-server", histogramDeclared(declared{
			title:   "go-grpc-middleware's provider families, server side (interceptor.NewServerMetrics)",
			domains: map[string][]string{"grpc_type": grpcTypes(), "grpc_code": grpcCodes()},
			// Only a unary call has a response whose status is read.
			byFamily: map[string]map[string][]string{"grpcmetrics_server_response_failed_total": {"grpc_type": {"unary"}}},
			options:  map[string]string{"grpc_server_in_flight": "WithInFlight"},
			optional: map[string]map[string]string{},
		}, "grpc_server_handling_seconds")},
		{"provider-client", histogramDeclared(declared{
			title:    "go-grpc-middleware's provider families, client side (interceptor.NewClientMetrics)",
			domains:  map[string][]string{"grpc_type": grpcTypes(), "grpc_code": grpcCodes()},
			byFamily: map[string]map[string][]string{"grpcmetrics_client_response_failed_total": {"grpc_type": {"unary"}}},
			options:  map[string]string{"grpc_client_in_flight": "WithInFlight"},
			optional: map[string]map[string]string{},
		}, "grpc_client_handling_seconds")},
		{"a66", declared{
			title:   "gRPC's own metrics, gRFC A66 (interceptor.NewA66)",
			domains: map[string][]string{"grpc_status": a66Codes()},
			// grpc-go's metrics that are not per call, each turned on by
			// name; the drive turns on the subchannel's.
			options: map[string]string{
				"grpc_subchannel_connection_attempts_succeeded_total": "WithGRPCMetrics",
				"grpc_subchannel_connection_attempts_failed_total":    "WithGRPCMetrics",
				"grpc_subchannel_disconnections_total":                "WithGRPCMetrics",
				"grpc_subchannel_open_connections":                    "WithGRPCMetrics",
				"grpcmetrics_grpc_metric_overflow_total":              "WithGRPCMetrics",
			},
			optional: map[string]map[string]string{},
		}},
		{"milvus26/v2.6.16", milvus26Declared("v2.6.16")},
		{"milvus26/v2.6.20", milvus26Declared("v2.6.20")},
		{"milvus26/v2.6.21", milvus26Declared("v2.6.21")},
		{"milvus26-rootcoord", histogramDeclared(declared{
			title:    "Milvus 2.6's rootcoord DDL counters, every release line (interceptor.NewMilvus26, WithRootCoordDDL)",
			domains:  map[string][]string{"status": outcome, "grpc_type": {"unary"}, "grpc_code": grpcCodes()},
			options:  map[string]string{"milvus_rootcoord_ddl_req_latency": "WithReqLatency"},
			optional: map[string]map[string]string{},
		}, "grpc_server_handling_seconds")},
	}
}

// domainsOf returns the domains of the labels of family name in d.
func (d declared) domainsOf(name string, labels []string) map[string][]string {
	out := map[string][]string{}
	for _, l := range labels {
		if v, ok := d.byFamily[name][l]; ok {
			out[l] = slices.Clone(v)
		} else if v, ok := d.domains[l]; ok {
			out[l] = slices.Clone(v)
		}
	}
	for l := range d.optional[name] {
		if v, ok := d.domains[l]; ok {
			out[l] = slices.Clone(v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
