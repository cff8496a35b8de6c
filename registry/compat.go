package registry

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// defaultMetrics is the compatibility shim's process-wide set, the only
// package-level state of this package. It is created on first use, never at
// import time.
var defaultMetrics = sync.OnceValue(New)

// Default returns the process-wide [Metrics] that the Register functions below
// register on [prometheus.DefaultRegisterer]. New code should create its own
// with [New] and register it on a registry it owns.
func Default() *Metrics { return defaultMetrics() }

// RegisterRootCoord registers [Default]'s RootCoord collectors on
// [prometheus.DefaultRegisterer], like Milvus v2.0's function of that name. A
// second call is a no-op. Like Milvus v2.0's, it panics if another collector
// already holds one of the names; use [RootCoord.Register] to get an error.
func RegisterRootCoord() { mustRegister(Default().RootCoord.Register) }

// RegisterProxy registers [Default]'s Proxy collectors on
// [prometheus.DefaultRegisterer]; see [RegisterRootCoord].
func RegisterProxy() { mustRegister(Default().Proxy.Register) }

// RegisterQueryCoord is a no-op, like Milvus v2.0's.
func RegisterQueryCoord() {}

// RegisterQueryNode is a no-op, like Milvus v2.0's.
func RegisterQueryNode() {}

// RegisterDataCoord registers [Default]'s DataCoord collectors on
// [prometheus.DefaultRegisterer]; see [RegisterRootCoord].
func RegisterDataCoord() { mustRegister(Default().DataCoord.Register) }

// RegisterDataNode registers [Default]'s DataNode collectors on
// [prometheus.DefaultRegisterer]; see [RegisterRootCoord].
func RegisterDataNode() { mustRegister(Default().DataNode.Register) }

// RegisterIndexCoord is a no-op, like Milvus v2.0's.
func RegisterIndexCoord() {}

// RegisterIndexNode is a no-op, like Milvus v2.0's.
func RegisterIndexNode() {}

func mustRegister(register func(prometheus.Registerer) error) {
	if err := register(prometheus.DefaultRegisterer); err != nil {
		panic(err)
	}
}
