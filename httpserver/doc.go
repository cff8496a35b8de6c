// Package httpserver serves a [prometheus.Gatherer] on /metrics over a
// hardened HTTP server.
//
// It is independent of the rest of grpcmetrics: all it needs is a gatherer,
// typically the [*prometheus.Registry] the counters were registered on.
//
// # What you get
//
//   - /metrics, served by [promhttp.HandlerFor] with a bound on concurrent
//     scrapes (beyond it promhttp answers 503) and a per-scrape timeout.
//     Errors from gathering or encoding are logged through the injected
//     [*zap.Logger].
//   - promhttp_metric_handler_requests_total and
//     promhttp_metric_handler_requests_in_flight, added by
//     [promhttp.InstrumentMetricHandler] (see [Options.Registerer] for where
//     they are registered). Registration problems are returned by [New]; they
//     never panic.
//   - OpenMetrics on request ([Options.OpenMetrics]), the only text format
//     that carries exemplars; off by default, since it changes the series
//     Prometheus stores (see the option).
//   - /healthz, a liveness path that always answers 200 "ok".
//   - Read-header, read, write and idle timeouts on by default, so a client
//     that trickles its headers (slowloris) or never reads its answer cannot
//     hold a connection forever.
//   - Opt-in TLS and basic authentication from a web configuration file, the
//     convention shared by Prometheus exporters and implemented by
//     [github.com/prometheus/exporter-toolkit/web]. The file is validated by
//     [New] and re-read by exporter-toolkit on every request and TLS
//     handshake, so certificates and users can be rotated without a restart.
//     When the file configures users, every path (including /healthz) requires
//     basic authentication.
//
// # Lifecycle
//
// [New] validates [Options] and builds the handler; nothing is bound yet.
// [Server.Start] binds the address synchronously, so "address already in
// use" is returned to the caller, and then serves in the background.
// [Server.Addr] reports the bound address (useful with port 0).
// [Server.Shutdown] stops accepting connections and waits for in-flight
// scrapes to finish. An error that ends the background serve loop is logged
// and returned by both [Server.Wait] and [Server.Shutdown].
//
// A zero [Options] is a sensible default: :9091, the address Milvus serves its
// metrics on, with the default limits documented on each field.
package httpserver
