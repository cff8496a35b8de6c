package registry

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// conflictError explains why a registerer refused c: another collector
// already holds c's metric name. It says which two things collide and what
// to do, and wraps client_golang's error.
func conflictError(c prometheus.Collector, err error) error {
	name := metricName(c)
	if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
		return fmt.Errorf("registry: %s is already registered on this registerer by another collector with the same help and labels, "+
			"usually another registry.Metrics (a second registry.New(), or registry.Default through the Register* functions): "+
			"use one registry.Metrics per registerer, or give each its own registry: %w", name, err)
	}
	return fmt.Errorf("registry: %s is already registered on this registerer, with other help or labels, "+
		"by a collector that is not this registry.Metrics' (one of your own?): "+
		"remove or rename that collector, or register on a registry of your own: %w", name, err)
}
