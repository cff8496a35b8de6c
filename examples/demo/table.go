package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// printCounters prints every milvus_* counter series with a non-zero total,
// one row per metric and label set, with its total, success and fail.
func printCounters(out io.Writer, g prometheus.Gatherer) error {
	mfs, err := g.Gather()
	if err != nil {
		return err
	}
	type row struct{ total, success, fail float64 }
	rows := map[string]*row{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "milvus_") || mf.GetMetric() == nil || mf.GetMetric()[0].GetCounter() == nil {
			continue
		}
		for _, mt := range mf.GetMetric() {
			var call string
			var others []string
			for _, lp := range mt.GetLabel() {
				switch lp.GetName() {
				case registry.LabelStatus, registry.LabelType:
					call = lp.GetValue()
				default:
					others = append(others, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
				}
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
			v := mt.GetCounter().GetValue()
			switch call {
			case registry.TotalLabel:
				r.total = v
			case registry.SuccessLabel:
				r.success = v
			case registry.FailLabel:
				r.fail = v
			}
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
