// Package registry holds every Prometheus collector of Milvus's hand-written
// internal/metrics package (Milvus v2.0's metrics) with its exact name, help string, label
// names and type, so that dashboards built on Milvus keep working.
//
// Collectors are grouped per Milvus component ([RootCoord], [Proxy],
// [DataCoord], [DataNode], and the components that had no metrics:
// [QueryCoord], [QueryNode], [IndexCoord], [IndexNode]). [New] builds them all;
// nothing is created or registered at import time. Each component registers
// on a caller-given [prometheus.Registerer]:
//
//	m := registry.New()
//	if err := m.RootCoord.Register(reg); err != nil {
//		return err // names the conflicting metric
//	}
//
// Registration is all-or-none per call, and registering the same component
// twice on one registerer is a no-op.
//
// Register through [Metrics.Register] or a component's Register rather than
// reg.MustRegister(m.Collectors()...): each component remembers that it was
// registered ([RootCoord.Registered], …), and the methodmap package refuses
// to build the Milvus table over counters that were never registered, which
// would count where nothing scrapes. After registering by hand, calling
// Register on the same registerer is harmless: it leaves the collectors the
// registerer already holds as they are.
//
// The per-RPC counters are meant to be incremented by the interceptor package,
// never by hand. The time-tick and membership gauges are not RPC-driven: they
// stay explicit setters ([RootCoord.SetInsertChannelTimeTick],
// [RootCoord.ProxyUp], [DataCoord.SetDataNodes], …).
//
// # Label values
//
// Every counted call increments the [TotalLabel] series on entry and exactly one
// of [SuccessLabel] or [FailLabel] when it ends. Proxy counters carry that value
// in the "status" label; RootCoord and DataNode counters in "type". RootCoord
// counters also carry "client_id", formatted by [ClientLabel].
//
// # Naming lint
//
// Milvus v2.0's irregular names (the *_counter counters without _total, and the
// camelCase subsystems dataCoord and dataNode) fail Prometheus's naming lint.
// They are the only allowed exceptions and are listed, with reasons, by
// [LintExceptions].
//
// # Compatibility shim
//
// Code written against Milvus's metrics package can keep calling [RegisterRootCoord],
// [RegisterProxy] and the other Register functions: they register a
// process-wide [Default] set on [prometheus.DefaultRegisterer]. That set is the
// package's only state, and it is created on first use.
package registry
