package interceptor

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grpcmetrics/grpcmetrics/interceptor/internal/grpcrecorder"
)

// The metric set of gRPC's own metrics (gRFC A66), as grpc-go v1.85.0's
// stats/opentelemetry plugin records them and the OpenTelemetry Prometheus
// exporter writes them. Unlike the other sets, its server side is counted
// from a stats handler (a66_server.go), not from the interceptors'
// lifecycle: its events come from the transport, for calls no interceptor
// sees too. Its client side is the plugin's pair, an interceptor for the
// call and a stats handler for each attempt (a66_client.go).

// A66Other is the grpc_method label value of [A66]'s calls of a method no
// server registers (on the server), and of calls that do not carry
// [grpc.StaticMethod] (on the client), as grpc-go's plugin writes it.
const A66Other = "other"

// A66 counts a gRPC server's and client's calls as gRPC itself defines
// them in gRFC A66, under the names, labels, label values, help strings and
// buckets that grpc-go v1.85.0's OpenTelemetry plugin
// (google.golang.org/grpc/stats/opentelemetry, under its default options)
// writes through the OpenTelemetry Prometheus exporter, from Prometheus
// collectors of its own: no OpenTelemetry SDK. On a server:
//
//	grpc_server_call_started_total{grpc_method}
//	grpc_server_call_duration_seconds{grpc_method, grpc_status}
//	grpc_server_call_sent_total_compressed_message_size_bytes{grpc_method, grpc_status}
//	grpc_server_call_rcvd_total_compressed_message_size_bytes{grpc_method, grpc_status}
//
// and on a client:
//
//	grpc_client_attempt_started_total{grpc_method, grpc_target}
//	grpc_client_attempt_duration_seconds{grpc_method, grpc_target, grpc_status}
//	grpc_client_attempt_sent_total_compressed_message_size_bytes{grpc_method, grpc_target, grpc_status}
//	grpc_client_attempt_rcvd_total_compressed_message_size_bytes{grpc_method, grpc_target, grpc_status}
//	grpc_client_call_duration_seconds{grpc_method, grpc_target, grpc_status}
//
// Durations are in seconds, in buckets from 0 to 100 s; sizes are the sums
// of the compressed lengths of a call's (or attempt's) messages, in bytes,
// in buckets from 0 to 4 GiB: grpc-go's. grpc_status is the canonical name
// of the code ("OK", "CANCELLED", "DEADLINE_EXCEEDED"), read from the error
// as status.Code reads it.
//
// The server side is counted by the stats handler of the [ServerInstall]
// it belongs to ([ServerSets].A66), since gRPC's events are
// the transport's: a call is started when its header arrives, before the
// method is looked up, and its duration runs from then until grpc-go ends
// it, for calls that no interceptor sees too (a request that fails to
// decode, an unknown compressor, a reply that fails to send). grpc_method
// is the full method without its leading slash for the methods that
// [ServerInstall.Init] finds registered, and [A66Other] for any other. A method no
// server registers gets no End from grpc-go (without an unknown-service
// handler), so its started count stays ahead of its duration count, as in
// the plugin. Stop the server gracefully before reading the final counts:
// grpc-go ends a call after its status is written.
//
// The client side, in a [ClientInstall] ([ClientSets].A66), is the
// install's interceptor pair that times the
// call as the application sees it (a stream ends through [grpc.OnFinish])
// and a stats handler that counts each attempt. grpc_target is the
// connection's canonical target ([grpc.ClientConn.CanonicalTarget]);
// grpc_method is the full method without its leading slash for calls that
// carry [grpc.StaticMethod] (as recent protoc-gen-go-grpc stubs do;
// v1.3.0's, milvus-proto v2.6's among them, do not), [A66Other] otherwise. An attempt starts only when grpc-go makes one: a
// call whose context is done before, or that fails before any attempt, has
// a call duration and no attempt; a retry adds attempts.
//
// Where it differs from the plugin, on purpose:
//   - codes above UNAUTHENTICATED (16), which the plugin writes as
//     "CODE(n)" for any n a peer sends, are counted as UNKNOWN, so that
//     the series stay bounded;
//   - method and target label values that are not valid UTF-8 are
//     repaired (each invalid byte sequence becomes U+FFFD);
//   - the exporter's otel_scope_* labels and target_info family are not
//     written;
//   - with [WithClientServices], a client call of a listed method is
//     labelled with its method without [grpc.StaticMethod], where the
//     plugin writes "other" (it is off by default).
//
// With [WithInFlight] (off by default), the set has a gauge of the calls
// in progress on each side, which is not part of gRFC A66 nor written by
// grpc-go's plugin; its names follow A66's:
//
//	grpc_server_call_in_flight{grpc_method}
//	grpc_client_call_in_flight{grpc_method, grpc_target}
//
// On a server, a call counts in it from grpc-go's Begin event, once
// grpc-go has found the call's method and before the handler (and its
// interceptors) run, until its End event, however it ends: with an error,
// a panic a recovery interceptor turns into an error, or a cancelled
// stream. A call of a method no server registers gets no Begin, so it
// never counts (unlike grpc_server_call_started_total, counted at the
// header). On a client, a call counts from the moment the interceptor
// starts it until it ends as its call duration does: a unary call when
// the invoker returns, a stream when grpc-go finishes it (an abandoned
// stream stays in flight until its context ends or its connection
// closes), or when the streamer fails to create it. When no call is
// running the gauge is 0.
//
// With [WithContextLabels] (off by default), every family of both sides,
// the in-flight gauges too, has the [ContextLabels] after its own labels
// (after grpc_status where it has it). On a server, Values is called with
// the context grpc-go gives the stats handler's TagRPC, as the call's
// header arrives: it carries the call's incoming metadata
// ([google.golang.org/grpc/metadata.FromIncomingContext]) and peer, but nothing the server's
// interceptors add. On a client, it is called with the context given to
// the call, in the interceptor, before the invoker. Every call A66 counts
// calls it once per side, calls of methods no server registers too (they
// count under [A66Other]). The bound is the A66's, both sides together: at
// most Limit tuples are kept across all methods, targets and sides; a
// call whose tuple finds no room counts with every context label set to
// [ContextLabelOverflow]. Values are repaired and cut, and a failed Values
// counted, as [ContextLabels] says. Each call counted under
// [ContextLabelOverflow], for whatever reason (a removal of its tuple
// while it runs too: see [A66.RemoveContextLabels]), counts in
// grpcmetrics_a66_context_labels_overflow_total once per side that counts
// it: once the calls have ended, it equals the count of
// grpc_server_call_duration_seconds plus that of
// grpc_client_call_duration_seconds under [ContextLabelOverflow].
// grpcmetrics_a66_context_labels_kept is the number of tuples kept, and
// [A66.RemoveContextLabels] forgets one. A kept tuple's series are
// resolved once per method (and target) and tuple, and a call of a kept
// tuple allocates nothing more, whatever Values allocates.
//
// With [WithGRPCMetrics] (off by default), the set writes too the metrics
// that grpc-go records for a channel rather than a call (connection
// attempts, disconnections, open connections, load balancing policies'),
// each metric named, as grpc-go's plugin writes them; the stats handlers
// of its installs are then grpc-go's metrics recorders too (see
// [GRPCMetrics]).
//
// Each side belongs to one install: the server side to one
// [ServerInstall], the client side to one [ClientInstall] (which serves
// every connection whose DialOptions it gave); giving a side to a second
// install is an error. Context labels come from [WithA66ContextLabels],
// with a function for each side.
type A66 struct {
	a66Families

	methods atomic.Pointer[map[string]*a66ServerRoute] // by full method; set once by Init
	other   *a66ServerRoute

	// clientMethods are the full methods of WithClientServices, labelled
	// by their name without grpc.StaticMethod; nil without it.
	clientMethods map[string]bool

	// serverValues and clientValues give the context labels' values of
	// each side; nil without context labels, or for a side without a
	// function.
	serverValues, clientValues func(context.Context) []string
	serverSide, clientSide     belonging // the installs each side belongs to

	metrics *setCollector // the set's metrics, both sides', as one collector
	// grpc records grpc-go's metrics that are not per call; nil unless
	// WithGRPCMetrics. The installs' stats handlers are its front.
	grpc *grpcrecorder.Recorder
}

// NewA66 builds gRPC's own metrics (see [A66]). It takes [WithInFlight],
// [WithA66ContextLabels] and [WithClientServices]; invalid values and nil
// options are an error.
func NewA66(opts ...A66Option) (*A66, error) {
	cfg := &a66Config{}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("interceptor: NewA66: option %d is nil", i)
		}
		o.applyA66(cfg)
	}
	a := &A66{}
	for i, d := range cfg.services {
		if d == nil || d.ServiceName == "" {
			return nil, fmt.Errorf("interceptor: NewA66: WithClientServices: descriptor %d is nil or has no service name", i)
		}
		if a.clientMethods == nil {
			a.clientMethods = make(map[string]bool)
		}
		for _, m := range d.Methods {
			a.clientMethods["/"+d.ServiceName+"/"+m.MethodName] = true
		}
		for _, m := range d.Streams {
			a.clientMethods["/"+d.ServiceName+"/"+m.StreamName] = true
		}
	}
	var extra []string // the context labels' names, after A66's own labels
	if acl := cfg.contextLabels; acl != nil {
		if err := a66CheckContextLabels(acl); err != nil {
			return nil, err
		}
		a.serverValues, a.clientValues = acl.Server, acl.Client
		extra = acl.Names
		a.tuples = newCtxTuplesNamed("grpcmetrics_a66", &ContextLabels{Names: acl.Names, Limit: acl.Limit})
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, append(labels, extra...))
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, append(labels, extra...))
	}
	// The help strings are the plugin's descriptions, which the exporter
	// writes as they are.
	a.srvStarted = counter("grpc_server_call_started_total", "Number of server calls started.", "grpc_method")
	a.srvDuration = histogram("grpc_server_call_duration_seconds", "End-to-end time taken to complete a call from server transport's perspective.", a66LatencyBuckets(), "grpc_method", "grpc_status")
	a.srvSent = histogram("grpc_server_call_sent_total_compressed_message_size_bytes", "Compressed message bytes sent per server call.", a66SizeBuckets(), "grpc_method", "grpc_status")
	a.srvRcvd = histogram("grpc_server_call_rcvd_total_compressed_message_size_bytes", "Compressed message bytes received per server call.", a66SizeBuckets(), "grpc_method", "grpc_status")
	a.cliStarted = counter("grpc_client_attempt_started_total", "Number of client call attempts started.", "grpc_method", "grpc_target")
	a.cliDuration = histogram("grpc_client_attempt_duration_seconds", "End-to-end time taken to complete a client call attempt.", a66LatencyBuckets(), "grpc_method", "grpc_target", "grpc_status")
	a.cliSent = histogram("grpc_client_attempt_sent_total_compressed_message_size_bytes", "Compressed message bytes sent per client call attempt.", a66SizeBuckets(), "grpc_method", "grpc_target", "grpc_status")
	a.cliRcvd = histogram("grpc_client_attempt_rcvd_total_compressed_message_size_bytes", "Compressed message bytes received per call attempt.", a66SizeBuckets(), "grpc_method", "grpc_target", "grpc_status")
	a.cliCallDuration = histogram("grpc_client_call_duration_seconds", "Time taken by gRPC to complete an RPC from application's perspective.", a66LatencyBuckets(), "grpc_method", "grpc_target", "grpc_status")
	if cfg.inFlight {
		// Not part of gRFC A66: named in its style, grpcmetrics's own.
		a.srvInFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "grpc_server_call_in_flight", Help: "Number of server calls whose handler is running."}, append([]string{"grpc_method"}, extra...))
		a.cliInFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "grpc_client_call_in_flight", Help: "Number of client calls started by the application and not yet ended."}, append([]string{"grpc_method", "grpc_target"}, extra...))
	}
	var err error
	if a.grpc, err = newGRPCRecorder(cfg); err != nil {
		return nil, err
	}
	a.other = a.newServerRoute(A66Other)
	a.metrics = &setCollector{cs: a.collectors()}
	return a, nil
}

// init takes the methods that srvs register (checked by
// [ServerInstall.Init]), as grpc-go's plugin asks the server whether a
// method is registered: unary and stream methods alike. Calls of methods
// no server registers count under [A66Other], and so do calls before it.
func (a *A66) init(srvs []ServiceInfoProvider) {
	table := make(map[string]*a66ServerRoute)
	for _, srv := range srvs {
		for svc, info := range srv.GetServiceInfo() {
			for _, mi := range info.Methods {
				full := "/" + svc + "/" + mi.Name
				r := a.newServerRoute(strings.TrimLeft(full, "/"))
				r.registered = true
				table[full] = r
			}
		}
	}
	a.methods.Store(&table)
}

// collectors returns the families of both sides, and the context labels'
// counter and gauge.
func (a *A66) collectors() []prometheus.Collector {
	cs := []prometheus.Collector{a.srvStarted, a.srvDuration, a.srvSent, a.srvRcvd,
		a.cliStarted, a.cliDuration, a.cliSent, a.cliRcvd, a.cliCallDuration}
	if a.srvInFlight != nil {
		cs = append(cs, a.srvInFlight, a.cliInFlight)
	}
	if a.tuples != nil {
		cs = append(cs, a.tuples.overflowTotal, a.tuples.kept)
	}
	if a.grpc != nil {
		cs = append(cs, a.grpc)
	}
	return cs
}

// serverRoute returns the route of a full method: its own if Init found
// it registered, else the route of A66Other.
func (a *A66) serverRoute(fullMethod string) *a66ServerRoute {
	t := a.methods.Load()
	if t == nil {
		return a.other
	}
	if r := (*t)[fullMethod]; r != nil {
		return r
	}
	return a.other
}
