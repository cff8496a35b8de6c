package main

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// setOther names the series of no metric set, such as the /metrics
// handler's own.
const setOther = "other"

// setOf returns the metric set that the family name belongs to: the -sets
// name, or setOther. Each set's families are listed in docs/metrics.md.
func setOf(name string) string {
	switch {
	case strings.HasPrefix(name, "grpc_server_call_"), strings.HasPrefix(name, "grpc_client_call_"),
		strings.HasPrefix(name, "grpc_client_attempt_"), strings.HasPrefix(name, "grpcmetrics_a66_"):
		return setA66
	case strings.HasPrefix(name, "milvus_proxy_req_"), strings.HasPrefix(name, "milvus_rootcoord_ddl_req_"),
		strings.HasPrefix(name, "grpcmetrics_collection"):
		return setMilvus26
	case strings.HasPrefix(name, "milvus_"), name == "grpcmetrics_client_id_overflow_total", name == "grpcmetrics_client_ids":
		return setMilvus
	case strings.HasPrefix(name, "grpc_server_"), strings.HasPrefix(name, "grpc_client_"),
		strings.HasPrefix(name, "grpcmetrics_server_"), strings.HasPrefix(name, "grpcmetrics_client_"):
		return setProvider
	}
	return setOther
}

// posInf is the upper bound of a histogram's last bucket.
var posInf = math.Inf(1)

// seriesOf returns the number of series that m, of a family of type typ,
// puts in the text exposition, and so in Prometheus: one for a counter,
// gauge or untyped sample; for a classic histogram one per bucket, plus
// +Inf, _sum and _count; for a summary one per quantile, plus _sum and
// _count.
func seriesOf(typ dto.MetricType, m *dto.Metric) int {
	switch typ {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		n := 2 // _sum, _count
		for _, b := range m.GetHistogram().GetBucket() {
			if b.GetUpperBound() != posInf {
				n++
			}
		}
		return n + 1 // +Inf
	case dto.MetricType_SUMMARY:
		return len(m.GetSummary().GetQuantile()) + 2
	}
	return 1
}

// seriesBySet gathers g and counts its series by metric set.
func seriesBySet(g prometheus.Gatherer) (map[string]int, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, err
	}
	n := map[string]int{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			n[setOf(mf.GetName())] += seriesOf(mf.GetType(), m)
		}
	}
	return n, nil
}

// printSeries prints the number of series that /metrics serves, by metric
// set, on one line: what one scrape of this instance costs Prometheus
// (docs/metrics.md has the formulas).
func printSeries(out io.Writer, g prometheus.Gatherer, sets metricSets) error {
	n, err := seriesBySet(g)
	if err != nil {
		return err
	}
	total := 0
	var parts []string
	for _, s := range []struct {
		name string
		on   bool
	}{{setMilvus, sets.milvus}, {setProvider, sets.provider}, {setA66, sets.a66}, {setMilvus26, sets.milvus26}, {setOther, true}} {
		total += n[s.name]
		if s.on {
			parts = append(parts, fmt.Sprintf("%s %d", s.name, n[s.name]))
		}
	}
	_, err = fmt.Fprintf(out, "series     %d on /metrics: %s\n", total, strings.Join(parts, ", "))
	return err
}
