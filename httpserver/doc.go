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
//   - A bound on the concurrent scrapes of each client, told by its IP
//     address ([Options.MaxRequestsInFlightPerClient]), so that one client
//     that floods /metrics holds a few of the shared slots, not all of them.
//   - Opt-in, a second listener for the Prometheus servers
//     ([Options.ScrapeAddr]) with slots of its own, which no flood of the
//     first listener, from any number of hosts, can take. See "A scrape
//     that a flood cannot starve" below.
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
// # A scrape that a flood cannot starve
//
// promhttp counts the scrapes in flight and answers 503 beyond
// [Options.MaxRequestsInFlight]; a Prometheus scrape that gets a 503 sets
// its target's up to 0. Two things keep Prometheus's scrapes out of that:
//
//   - The per-client bound answers a client's scrapes beyond its own
//     budget with 503 before they take a shared slot. A flood from one host
//     (a script, a misconfigured agent) then costs that host its answers,
//     not Prometheus.
//   - A flood from many hosts takes the shared slots all the same. Against
//     it, serve the Prometheus servers on [Options.ScrapeAddr], bound where
//     only they reach, and point their scrape configurations at
//     [Server.ScrapeAddr]. Its slots ([Options.ScrapeMaxRequestsInFlight])
//     are its own. Then keep Addr's MaxRequestsInFlight small: it also
//     bounds the gathering work that a flood of Addr costs the process.
//
// Every 503 counts in promhttp_metric_handler_requests_total{code="503"},
// which the generated alert GrpcmetricsMetricsRefused watches.
//
// # Lifecycle
//
// [New] validates [Options] and builds the handler; nothing is bound yet.
// [Server.Start] binds the addresses synchronously, so "address already in
// use" is returned to the caller, and then serves in the background.
// [Server.Addr] and [Server.ScrapeAddr] report the bound addresses (useful
// with port 0).
// [Server.Shutdown] stops accepting connections and waits for in-flight
// scrapes to finish. An error that ends the background serve loop is logged
// and returned by both [Server.Wait] and [Server.Shutdown].
//
// A zero [Options] is a sensible default: :9091, the address Milvus serves its
// metrics on, with the default limits documented on each field.
package httpserver
