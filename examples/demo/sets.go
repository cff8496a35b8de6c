package main

import (
	"errors"
	"fmt"
	"strings"
)

// The metric sets the demo can serve, by their -sets name.
const (
	setMilvus   = "milvus"   // Milvus v2.0's counters (interceptor.New)
	setProvider = "provider" // the provider's families (NewServerMetrics, NewClientMetrics)
	setA66      = "a66"      // gRPC's own metrics, gRFC A66 (NewA66)
	setMilvus26 = "milvus26" // Milvus 2.6's request counters (NewMilvus26)
)

// defaultSets is the default of -sets: every set.
const defaultSets = setMilvus + "," + setProvider + "," + setA66 + "," + setMilvus26

// metricSets are the metric sets the demo serves.
type metricSets struct{ milvus, provider, a66, milvus26 bool }

// parseSets parses the value of -sets: set names separated by commas.
func parseSets(s string) (metricSets, error) {
	var sets metricSets
	var errs []error
	for _, name := range strings.Split(s, ",") {
		switch strings.TrimSpace(name) {
		case setMilvus:
			sets.milvus = true
		case setProvider:
			sets.provider = true
		case setA66:
			sets.a66 = true
		case setMilvus26:
			sets.milvus26 = true
		case "":
		default:
			errs = append(errs, fmt.Errorf("-sets: unknown set %q (the sets: %s)", name, defaultSets))
		}
	}
	if sets == (metricSets{}) && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("-sets %q names no set (the sets: %s)", s, defaultSets))
	}
	return sets, errors.Join(errs...)
}
