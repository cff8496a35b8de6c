package httpserver

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/exporter-toolkit/web"
	"go.uber.org/zap"
)

// Defaults applied by [New] to the zero fields of [Options].
const (
	// DefaultAddr is the listen address Milvus serves its metrics on.
	DefaultAddr = ":9091"
	// DefaultMaxRequestsInFlight bounds concurrent scrapes. It matches the
	// default of node_exporter's --web.max-requests: far more than the few
	// Prometheus replicas that scrape a target, small enough that a burst of
	// requests cannot make the process gather its metrics hundreds of times
	// at once.
	DefaultMaxRequestsInFlight = 40
	// DefaultMaxRequestsInFlightPerClient bounds the concurrent scrapes of
	// one client, told by its IP address. A Prometheus server has at most
	// one scrape of a target in flight per scrape job, so four leave room
	// for a server that scrapes one endpoint under several jobs, while a
	// client that floods /metrics holds no more than four of the
	// [DefaultMaxRequestsInFlight] slots.
	DefaultMaxRequestsInFlightPerClient = 4
	// DefaultScrapeMaxRequestsInFlight bounds concurrent scrapes on
	// [Options.ScrapeAddr]: a few Prometheus replicas, each with a few
	// scrape jobs, and room to spare.
	DefaultScrapeMaxRequestsInFlight = 10
	// DefaultTimeout bounds one scrape. It is larger than Prometheus's
	// default scrape_timeout (10s), so only a stuck gatherer hits it.
	DefaultTimeout = 30 * time.Second
	// DefaultReadHeaderTimeout is the time a client has to send its request
	// headers, counted from the moment the connection is ready to read. It is
	// what cuts slowloris connections.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultReadTimeout is the time a client has to send its whole request
	// (scrapes have no body).
	DefaultReadTimeout = 10 * time.Second
	// DefaultWriteTimeoutMargin is added to [Options.Timeout] when
	// [Options.WriteTimeout] is zero, so that a scrape that hits the handler
	// timeout can still be answered with 503 before the connection is cut.
	DefaultWriteTimeoutMargin = 5 * time.Second
	// DefaultIdleTimeout is how long a keep-alive connection may wait for its
	// next request. It is longer than the common 1m scrape interval, so a
	// scraper keeps reusing its connection.
	DefaultIdleTimeout = 2 * time.Minute
)

// Options configures a [Server]. The zero value is a sensible default: every
// zero field takes the default documented on it. Negative limits and
// durations are rejected by [New]; to effectively disable a limit, set it to
// a large value.
type Options struct {
	// Addr is the TCP address to listen on, in the form accepted by
	// [net.Listen] ("host:port", ":port"; port 0 picks a free port, see
	// [Server.Addr]). Default: [DefaultAddr].
	Addr string

	// Registerer receives the collectors of
	// [promhttp.InstrumentMetricHandler]:
	// promhttp_metric_handler_requests_total{code} and
	// promhttp_metric_handler_requests_in_flight.
	//
	// If Registerer is nil and the gatherer given to [New] is also a
	// [prometheus.Registerer] (as a [*prometheus.Registry] is), they are
	// registered on the gatherer, so they appear on /metrics like with
	// [promhttp.Handler]. Otherwise, and when DisableHandlerMetrics is set,
	// the handler is not instrumented.
	//
	// If equal collectors are already registered (a second [Server] on the
	// same registry), they are reused and shared. Any other registration
	// error is returned by [New].
	Registerer prometheus.Registerer

	// DisableHandlerMetrics turns off the instrumentation described on
	// Registerer.
	DisableHandlerMetrics bool

	// Logger receives, at error level, promhttp's errors (gathering,
	// encoding) and the error that ends the background serve loop; the
	// messages of exporter-toolkit, bridged from [log/slog] with
	// [zapslog.NewHandler]; and, at info level, those of net/http itself
	// (such as TLS handshake failures), through [http.Server.ErrorLog].
	// Default: [zap.NewNop].
	Logger *zap.Logger

	// MaxRequestsInFlight is the number of scrapes served concurrently on
	// Addr; further scrapes are answered with 503 by promhttp (see
	// [promhttp.HandlerOpts]). Default: [DefaultMaxRequestsInFlight].
	MaxRequestsInFlight int

	// MaxRequestsInFlightPerClient is the number of scrapes that one client,
	// told by the IP address its connection comes from, may have in flight
	// on a listener; its further scrapes are answered with 503 at once,
	// before they take a MaxRequestsInFlight slot, so that one client that
	// floods /metrics cannot take the slots every other client, Prometheus
	// among them, needs. Clients behind one NAT or proxy share an address
	// and so a budget. Default: [DefaultMaxRequestsInFlightPerClient].
	MaxRequestsInFlightPerClient int

	// ScrapeAddr is a second TCP address that serves the same paths for
	// the Prometheus servers that scrape this process, with a budget of its
	// own ([Options.ScrapeMaxRequestsInFlight]) that no request on Addr
	// can take: a flood of Addr from any number of hosts leaves its slots
	// free (see [Server.ScrapeAddr]). Bind it where only the Prometheus
	// servers reach it, such as an internal interface or a port that the
	// firewall or network policy opens to them alone. It takes the same web
	// configuration file, and its requests count in the same handler
	// metrics. Default: empty, no second listener.
	ScrapeAddr string

	// ScrapeMaxRequestsInFlight is MaxRequestsInFlight for ScrapeAddr; it
	// needs ScrapeAddr. MaxRequestsInFlightPerClient applies on ScrapeAddr
	// too. Default: [DefaultScrapeMaxRequestsInFlight].
	ScrapeMaxRequestsInFlight int

	// Timeout bounds one scrape; a scrape that takes longer is answered with
	// 503 by promhttp (see [promhttp.HandlerOpts]). The gatherer is not
	// interrupted: until it returns, it keeps holding its
	// MaxRequestsInFlight slot. Default: [DefaultTimeout].
	Timeout time.Duration

	// ReadHeaderTimeout is [http.Server.ReadHeaderTimeout]. net/http also
	// bounds TLS handshakes by the smallest of ReadHeaderTimeout,
	// ReadTimeout and WriteTimeout. Default: [DefaultReadHeaderTimeout].
	ReadHeaderTimeout time.Duration

	// ReadTimeout is [http.Server.ReadTimeout]. Default:
	// [DefaultReadTimeout].
	ReadTimeout time.Duration

	// WriteTimeout is [http.Server.WriteTimeout]. It must exceed Timeout.
	// Default: Timeout + [DefaultWriteTimeoutMargin].
	WriteTimeout time.Duration

	// IdleTimeout is [http.Server.IdleTimeout]. Default:
	// [DefaultIdleTimeout].
	IdleTimeout time.Duration

	// OpenMetrics serves /metrics in the OpenMetrics text format to a
	// scraper that asks for it, as Prometheus (2.5 and later) does first
	// (see [promhttp.HandlerOpts].EnableOpenMetrics). Clients that do not
	// ask, such as curl, still get the Prometheus text format. Default:
	// off, the text format (0.0.4) only.
	//
	// OpenMetrics is the only text format that carries exemplars: turn it on
	// when a histogram has them (see
	// [github.com/grpcmetrics/grpcmetrics/interceptor.Exemplar]); without
	// it, Prometheus never sees one. It also changes what Prometheus
	// ingests, and so what existing queries and dashboards see:
	//   - Histogram bucket bounds and summary quantiles that are integers
	//     gain ".0": le="1" becomes le="1.0". On Prometheus 2.x that is a
	//     new series beside the old one, so a range that spans the switch
	//     holds both, and a dashboard's histogram_quantile over that range
	//     (and any query that selects le="1" by its value) loses its
	//     continuity. Prometheus 3 writes both spellings as "1.0".
	//   - A counter whose name does not end in _total is exposed with
	//     "# TYPE <name> unknown": OpenMetrics requires a counter's samples to
	//     end in _total. Three of Milvus v2.0's names do
	//     (milvus_proxy_create_index_counter,
	//     milvus_proxy_describe_index_counter and
	//     milvus_proxy_get_index_state_counter): their samples keep their
	//     names, labels and values, but Prometheus records their type as
	//     unknown instead of counter.
	OpenMetrics bool

	// OpenMetricsCreatedSamples adds, in OpenMetrics only, a <name>_created
	// sample beside each counter, histogram and summary: the time the series
	// was created, which lets a scraper tell a restart from a slow counter
	// (see [promhttp.HandlerOpts].EnableOpenMetricsTextCreatedSamples).
	// Unless Prometheus turns them into created timestamps
	// (--enable-feature=created-timestamp-zero-ingestion, Prometheus 2.50
	// and later), every _created sample is stored as a series of its own,
	// which doubles the series of those families. It requires OpenMetrics;
	// [New] rejects it without. Default: off.
	OpenMetricsCreatedSamples bool

	// WebConfigFile is the path of an exporter-toolkit web configuration
	// file enabling TLS and/or basic authentication (see
	// [web.Serve] and
	// https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md).
	// It is validated by [New] and again by [Server.Start]. Default: empty,
	// plain HTTP without authentication.
	WebConfigFile string
}

// withDefaults validates o and returns a copy with every zero field set to
// its default. Errors name the offending field.
func (o Options) withDefaults() (Options, error) {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return o, fmt.Errorf("httpserver: invalid Options.Addr %q: %w", o.Addr, err)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if err := o.limitDefaults(); err != nil {
		return o, err
	}
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Timeout", &o.Timeout, DefaultTimeout},
		{"ReadHeaderTimeout", &o.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{"ReadTimeout", &o.ReadTimeout, DefaultReadTimeout},
		{"WriteTimeout", &o.WriteTimeout, 0}, // derived from Timeout below
		{"IdleTimeout", &o.IdleTimeout, DefaultIdleTimeout},
	}
	for _, d := range durations {
		if *d.v < 0 {
			return o, fmt.Errorf("httpserver: Options.%s must not be negative, got %v", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = o.Timeout + DefaultWriteTimeoutMargin
	}
	if o.WriteTimeout <= o.Timeout {
		return o, fmt.Errorf("httpserver: Options.WriteTimeout (%v) must exceed Options.Timeout (%v), or a timed-out scrape cannot be answered", o.WriteTimeout, o.Timeout)
	}
	if o.OpenMetricsCreatedSamples && !o.OpenMetrics {
		return o, errors.New("httpserver: Options.OpenMetricsCreatedSamples needs Options.OpenMetrics: created samples exist only in OpenMetrics")
	}
	if err := validateWebConfig(o.WebConfigFile); err != nil {
		return o, err
	}
	return o, nil
}

// limitDefaults validates the concurrency limits and the scrape address,
// and sets the zero limits to their defaults.
func (o *Options) limitDefaults() error {
	limits := []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxRequestsInFlight", &o.MaxRequestsInFlight, DefaultMaxRequestsInFlight},
		{"MaxRequestsInFlightPerClient", &o.MaxRequestsInFlightPerClient, DefaultMaxRequestsInFlightPerClient},
		{"ScrapeMaxRequestsInFlight", &o.ScrapeMaxRequestsInFlight, DefaultScrapeMaxRequestsInFlight},
	}
	for _, l := range limits {
		if *l.v < 0 {
			return fmt.Errorf("httpserver: Options.%s must not be negative, got %d", l.name, *l.v)
		}
	}
	if o.ScrapeAddr == "" {
		if o.ScrapeMaxRequestsInFlight != 0 {
			return errors.New("httpserver: Options.ScrapeMaxRequestsInFlight needs Options.ScrapeAddr")
		}
	} else {
		_, port, err := net.SplitHostPort(o.ScrapeAddr)
		if err != nil {
			return fmt.Errorf("httpserver: invalid Options.ScrapeAddr %q: %w", o.ScrapeAddr, err)
		}
		if o.ScrapeAddr == o.Addr && port != "0" {
			return fmt.Errorf("httpserver: Options.ScrapeAddr %q is Options.Addr: the scrape listener needs an address of its own", o.ScrapeAddr)
		}
	}
	for _, l := range limits {
		if *l.v == 0 {
			*l.v = l.def
		}
	}
	return nil
}

// validateWebConfig checks the web configuration file the way
// exporter-toolkit will read it when serving: it must exist, parse strictly,
// hold bcrypt hashes for its users and, if it configures TLS, loadable
// certificates.
func validateWebConfig(path string) error {
	if path == "" {
		return nil
	}
	if err := web.Validate(path); err != nil {
		return fmt.Errorf("httpserver: invalid Options.WebConfigFile %q: %w", path, err)
	}
	return nil
}
