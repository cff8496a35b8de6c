package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// printCounters prints a row per metric and label set with its total,
// success and fail: every series of Milvus v2.0's counters with a non-zero
// total when sets has them; otherwise the calls that each other set
// counted, by method (Milvus 2.6's request counters, the provider's
// grpc_server_handled_total, A66's grpc_server_call_duration_seconds).
func printCounters(out io.Writer, g prometheus.Gatherer, sets metricSets) error {
	mfs, err := g.Gather()
	if err != nil {
		return err
	}
	rows := map[string]*row{}
	for _, mf := range mfs {
		if mf.GetMetric() == nil {
			continue
		}
		for _, mt := range mf.GetMetric() {
			d, others, ok := tableSample(mf.GetName(), mt, sets.milvus)
			if !ok {
				continue
			}
			key := mf.GetName()
			if len(others) > 0 {
				key += "{" + strings.Join(others, ",") + "}"
			}
			r := rows[key]
			if r == nil {
				r = &row{}
				rows[key] = r
			}
			r.total += d.total
			r.success += d.success
			r.fail += d.fail
		}
	}
	keys := make([]string, 0, len(rows))
	for k, r := range rows {
		if r.total > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return errors.New("no counter moved")
	}
	sort.Strings(keys)
	// Names to the left, numbers to the right: the name column is padded
	// here, so that right alignment leaves it as it is.
	width := len("metric")
	for _, k := range keys {
		width = max(width, len(k))
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\ttotal\tsuccess\tfail\t\n", width, "metric")
	for _, k := range keys {
		r := rows[k]
		fmt.Fprintf(tw, "%-*s\t%g\t%g\t%g\t\n", width, k, r.total, r.success, r.fail)
	}
	return tw.Flush()
}

// row is a row of the table, or what one sample adds to it.
type row struct{ total, success, fail float64 }

// tableSample tells what a sample of the family name adds to the table:
// to which row, named by its labels others, and whether it belongs to the
// table at all. With milvus only Milvus v2.0's counters do. The labels
// that tell the outcome, the label server (which Milvus's families name
// already) and Milvus 2.6's node_id, db_name and collection_name do not
// name the row, nor does the provider's tenant.
func tableSample(name string, mt *dto.Metric, milvus bool) (d row, others []string, ok bool) {
	var outcome, function string
	for _, lp := range mt.GetLabel() {
		switch lp.GetName() {
		case registry.LabelStatus, registry.LabelType, "grpc_code", "grpc_status":
			outcome = lp.GetValue()
			continue
		case "server", tenantLabel, "node_id", "db_name", "collection_name":
			continue
		case "function_name":
			function = lp.GetValue()
		}
		others = append(others, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
	}
	var v float64
	switch {
	case strings.HasPrefix(name, "milvus_") && mt.GetCounter() != nil && function == "":
		// Milvus v2.0: one series per outcome, total among them.
		v = mt.GetCounter().GetValue()
		switch outcome {
		case registry.TotalLabel:
			return row{total: v}, others, true
		case registry.SuccessLabel:
			return row{success: v}, others, true
		case registry.FailLabel:
			return row{fail: v}, others, true
		}
		return row{}, others, true
	case milvus:
		return row{}, nil, false
	case strings.HasPrefix(name, "milvus_") && mt.GetCounter() != nil:
		// Milvus 2.6: total when the call starts, then success, fail,
		// retry or rejected when it ends.
		v = mt.GetCounter().GetValue()
		switch outcome {
		case "total":
			return row{total: v}, others, true
		case "success":
			return row{success: v}, others, true
		}
		return row{fail: v}, others, true
	case name == "grpc_server_handled_total":
		v = mt.GetCounter().GetValue()
	case name == "grpc_server_call_duration_seconds":
		v = float64(mt.GetHistogram().GetSampleCount())
	default:
		return row{}, nil, false
	}
	// The provider's and A66's: one series per code.
	if outcome == "OK" {
		return row{total: v, success: v}, others, true
	}
	return row{total: v, fail: v}, others, true
}
