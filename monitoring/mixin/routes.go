package mixin

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// Route is one counted method of the Milvus flavour, as the rules need it.
type Route struct {
	// Service is the fully-qualified gRPC service, such as
	// "milvus.proto.rootcoord.RootCoord".
	Service string
	// Method is the method name, such as "CreateCollection".
	Method string
	// Metric is the name of the counter that counts the method.
	Metric string
	// CallLabel is the label that holds registry.TotalLabel, SuccessLabel or
	// FailLabel: registry.LabelStatus or registry.LabelType.
	CallLabel string
	// ClientLabel says whether the counter also has registry.LabelClientID.
	ClientLabel bool
}

// labelSet is a label scheme a route's counter may have, with its call
// label.
type labelSet struct {
	names     []string
	callLabel string
}

// labelSets returns the label schemes of the Milvus counters.
func labelSets() []labelSet {
	return []labelSet{
		{[]string{registry.LabelStatus}, registry.LabelStatus},
		{[]string{registry.LabelType}, registry.LabelType},
		{[]string{registry.LabelClientID, registry.LabelType}, registry.LabelType},
	}
}

// MilvusRoutes describes the routes of m for the Milvus flavour, in m's
// order (sorted by method name). It reads each counter's name and label
// names by gathering it from a registry of its own, after creating one
// child with the call label set to registry.TotalLabel (and, for client
// counters, the client set to registry.UnknownClientLabel). Give it a map
// built on a registry.Metrics of its own, not one that serves traffic.
func MilvusRoutes(m *methodmap.Map) ([]Route, error) {
	entries := m.Entries()
	routes := make([]Route, 0, len(entries))
	for _, e := range entries {
		r, err := describeRoute(e.Method, e.Counter)
		if err != nil {
			return nil, err
		}
		routes = append(routes, r)
	}
	return routes, nil
}

// describeRoute finds the name and labels of the counter of fullMethod.
func describeRoute(fullMethod string, cv *prometheus.CounterVec) (Route, error) {
	service, method, err := methodmap.ParseMethod(fullMethod)
	if err != nil {
		return Route{}, fmt.Errorf("mixin: %w", err)
	}
	if cv == nil {
		return Route{}, fmt.Errorf("mixin: route %s has no counter", fullMethod)
	}
	for _, set := range labelSets() {
		labels := prometheus.Labels{}
		for _, n := range set.names {
			labels[n] = registry.TotalLabel
		}
		if _, ok := labels[registry.LabelClientID]; ok {
			labels[registry.LabelClientID] = registry.UnknownClientLabel
		}
		if _, err := cv.GetMetricWith(labels); err != nil {
			continue // not this scheme
		}
		reg := prometheus.NewPedanticRegistry()
		if err := reg.Register(cv); err != nil {
			return Route{}, fmt.Errorf("mixin: route %s: registering its counter: %w", fullMethod, err)
		}
		mfs, err := reg.Gather()
		if err != nil {
			return Route{}, fmt.Errorf("mixin: route %s: gathering its counter: %w", fullMethod, err)
		}
		if len(mfs) != 1 || len(mfs[0].GetMetric()) == 0 {
			return Route{}, fmt.Errorf("mixin: route %s: gathering its counter gave %d families", fullMethod, len(mfs))
		}
		var got []string
		for _, lp := range mfs[0].GetMetric()[0].GetLabel() {
			got = append(got, lp.GetName())
		}
		want := slices.Clone(set.names)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return Route{}, fmt.Errorf("mixin: route %s: counter %s has labels %v, want %v", fullMethod, mfs[0].GetName(), got, want)
		}
		return Route{
			Service:     service,
			Method:      method,
			Metric:      mfs[0].GetName(),
			CallLabel:   set.callLabel,
			ClientLabel: len(set.names) == 2,
		}, nil
	}
	return Route{}, fmt.Errorf("mixin: route %s: its counter has none of the label sets {status}, {type}, {client_id, type}", fullMethod)
}

// validateRoutes checks every route and that no two routes share a method or
// a counter (the per-method rules could not tell them apart).
func validateRoutes(routes []Route) error {
	methods := map[string]bool{}
	metrics := map[string]string{}
	for _, r := range routes {
		full := "/" + r.Service + "/" + r.Method
		if _, _, err := methodmap.ParseMethod(full); err != nil {
			return fmt.Errorf("mixin: route %+v: %w", r, err)
		}
		if !model.LegacyValidation.IsValidMetricName(r.Metric) {
			return fmt.Errorf("mixin: route %s: invalid metric name %q", full, r.Metric)
		}
		if r.CallLabel != registry.LabelStatus && r.CallLabel != registry.LabelType {
			return fmt.Errorf("mixin: route %s: call label %q is neither %q nor %q", full, r.CallLabel, registry.LabelStatus, registry.LabelType)
		}
		if methods[full] {
			return fmt.Errorf("mixin: route %s appears twice", full)
		}
		methods[full] = true
		if other, ok := metrics[r.Metric]; ok {
			return fmt.Errorf("mixin: routes %s and %s share counter %s, so their rules could not tell them apart", other, full, r.Metric)
		}
		metrics[r.Metric] = full
	}
	return nil
}

// quote returns s as a PromQL string literal.
func quote(s string) string {
	return fmt.Sprintf("%q", s)
}

// matchers joins label matchers into a selector body.
func matchers(ms ...string) string {
	return strings.Join(ms, ", ")
}
