// Package interceptor counts gRPC calls into Prometheus metrics, with no
// metric call in any handler, in several dialects, its metric sets:
// Milvus v2.0's counters of the registry package ([MilvusCounters]),
// go-grpc-middleware's prometheus provider ([ServerMetrics] and
// [ClientMetrics]), Milvus 2.6's request counters ([Milvus26]) and gRPC's
// own metrics ([A66]).
//
// # Installs and sets
//
// A set is built by its constructor with its own options, and counts
// nothing alone: it is given to an install, one per side, which is what a
// server or a client installs. A [ServerInstall] takes the sets of a
// server and the options every set shares ([WithStatus], [WithLogger],
// [WithHistogram]), and has one Register, one Init and one ServerOptions;
// a [ClientInstall] does the same for a client, with DialOptions once per
// connection. A set belongs to one install. Options a constructor refuses
// do not compile for it (see [InstallOption] for the table).
//
// # Milvus counters
//
// [MilvusCounters] are built once from a [methodmap.Map] by
// [NewMilvusCounters] and given to a server install:
//
//	m := registry.New()
//	if err := m.Register(reg); err != nil { … }
//	methods, err := methodmap.Default(m)
//	ic, err := interceptor.NewMilvusCounters(methods)
//	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic})
//	if err := install.Register(reg); err != nil { … } // the counters' own metrics
//	onPanic := func(ctx context.Context, p any) error { // recovery's default would send p and the stack to the client
//		logger.Error("handler panic", zap.Any("panic", p), zap.Stack("stack"))
//		return status.Error(codes.Internal, "internal error")
//	}
//	srv := grpc.NewServer(append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(
//		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(onPanic)), // outside: sees the re-raised panic
//	)}, install.ServerOptions()...)...)
//	// register the services, then install.Init(srv)
//
// For each call of a mapped method the interceptor increments the "total"
// series before the handler runs and exactly one of "success" or "fail" when
// it ends, so total == success + fail once no call is in flight. A call fails
// when the handler returns an error, panics (the panic is counted and then
// goes on up the chain untouched), or returns a failing status. Calls of
// methods not in the map pass straight through.
//
// Each concern has one hook, set once by an option:
//   - which responses carry a failing status: the default rule reads Milvus's
//     Status messages, as the whole response or in its "status" field;
//     [WithStatus] replaces it, and [MilvusStatus] builds a replacement from
//     the caller's generated types;
//   - who the client is, on client-labelled (RootCoord) counters: the
//     default rule reads "client_<SourceID>" from the request's MsgBase;
//     [WithClientID] replaces it, and [MilvusSourceID] builds one from the
//     caller's generated types;
//   - exceptions for single methods: [WithOutcome].
//
// A panic in any of these rules, or in the default rules, is recovered,
// logged and counts the call as fail; it never reaches the caller. Only the
// handler's own panic is passed on.
//
// At most [DefaultClientLimit] (see [WithClientLimit]) distinct client_id
// values are tracked; further clients count under a single overflow value,
// and [MilvusCounters.RemoveClient] forgets a client that left.
//
// [MilvusCounters.StreamServerInterceptor] counts streaming methods that a map
// holds by the same rules.
//
// # Any service
//
// [ServerMetrics] counts every method a server registers, and
// [ClientMetrics] every method a client calls, as grpc_server_* and
// grpc_client_* with the labels grpc_type, grpc_service, grpc_method and
// grpc_code: the provider's names, so its dashboards and alerts keep
// working. The response-body rule adds grpcmetrics_server_response_failed_total
// (and the client's) beside them, leaving the provider's families as they
// are. Stream messages are counted too.
//
// # Label values of the Milvus counters
//
//   - Every call of a mapped method increments "total" before the handler
//     runs and exactly one of "success" or "fail" when it ends
//     ([registry.TotalLabel], [registry.SuccessLabel], [registry.FailLabel]),
//     so total == success + fail once no call is in flight. The three series
//     exist from construction (at 0) for status- and type-labelled counters,
//     and from a client's first call for client-labelled ones.
//   - Proxy counters carry the value in "status"; RootCoord and DataNode
//     counters in "type".
//   - "fail" means: the handler returned an error; or it panicked (counted,
//     then the panic continues to the next interceptor); or the response
//     carries a failing status (see the response-body rule below).
//     Everything else, including a response with no status, an unset status
//     field, or a value the default rule cannot read, is "success".
//     [WithOutcome] decides otherwise for one method.
//   - A panic in the rules (a [StatusFunc], a [ClientIDFunc], a [Classifier],
//     or the default rules themselves) never reaches gRPC: it is recovered,
//     logged through [WithLogger] and counts the call as fail. The handler
//     still runs and its answer reaches the client unchanged. Only the
//     handler's own panic is passed on.
//   - client_id (RootCoord) is "client_<SourceID>" from
//     GetBase().GetSourceID(); a request without a base (or with a nil one)
//     is [registry.UnknownClientLabel]. At most [DefaultClientLimit] distinct
//     values are kept ([WithClientLimit]); calls from further clients count
//     under [registry.OverflowClientLabel] and increment
//     grpcmetrics_client_id_overflow_total; grpcmetrics_client_ids is the
//     number of values kept. One exported value is one client, however it
//     was named: [SourceID](7) and [Label]("client_7") are one client, and a
//     [Label] equal to a fixed value is that fixed value (a call labelled
//     client_overflow is not an overflow and does not move the counter). Both are registered by [MilvusCounters.Register].
//   - [MilvusCounters.RemoveClient] deletes a departed client's series (pair it
//     with the registry's RootCoord.RemoveProxy). Every call that starts
//     after it returns is counted, in new series. The fixed labels
//     client_unknown and client_overflow are never removed.
//   - Methods not in the map pass straight through, after one map lookup.
//
// # The response-body rule
//
// Milvus answers many failures with code OK and a failing status in the
// response. The default rule finds a Milvus Status as the whole response or
// in its "status" field, in messages of today's protoc-gen-go, of the older
// APIv1 generators Milvus used, and of dynamicpb, and judges it failing when
// its error_code or its code is not zero. [MilvusStatus] builds the same rule
// from the caller's generated types, with type assertions alone;
// [WithStatus] takes any rule. The rule sees unary responses only: a stream
// is judged by its error.
//
// The Milvus counters count such a call as fail. [ServerMetrics] and
// [ClientMetrics] keep the provider's families as the provider would
// (grpc_code="OK") and count the call in
// grpcmetrics_server_response_failed_total (grpcmetrics_client_… for
// clients), so that an error ratio can add the two.
//
// # Streams
//
// [ServerMetrics.StreamServerInterceptor] and
// [ClientMetrics.StreamClientInterceptor] count a stream as started when it
// opens and as handled, with its code, when it ends; every message sent or
// received without error counts in grpc_*_msg_sent_total or
// grpc_*_msg_received_total, with no allocation per message.
// [MilvusCounters.StreamServerInterceptor] counts streaming methods that a map
// holds (Milvus v2.0's table has none): total when the stream opens, success
// or fail when the handler returns.
//
//   - A client that cancels mid-stream: the server's handler usually returns
//     Canceled, counted as that code (fail for a Milvus counter); the client
//     counts Canceled.
//   - An expired deadline: the client counts DeadlineExceeded. The server
//     counts whatever its handler returns: DeadlineExceeded if the server's
//     own timer fired first, Canceled if the client's reset arrived first.
//   - A client stream is counted as handled exactly once, where grpc-go
//     itself ends it: when RecvMsg reaches its end, when SendMsg fails with
//     anything but io.EOF, when its context ends (a caller that cancels and
//     stops reading counts Canceled), when its connection closes, or when
//     it cannot be created. A stream that the caller abandons without any of
//     these stays started, not handled, until its context ends.
//
// # Clients
//
// [ClientMetrics] is the client side, with the grpc_client_* names and the
// same outcome rules, the response-body rule included, so that a Milvus
// proxy counts its calls to rootcoord with
// WithStatus(MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()). A client
// calls only its own code's methods, so each method gets its series on first
// use; there is no Init.
//
// # Latency and exemplars
//
// Latency is opt-in. [WithHistogram] adds a handling-time histogram,
// grpc_server_handling_seconds{grpc_type, grpc_service, grpc_method}, to an
// install: a set installed alone, or a [ServerInstall] of several
// (grpc_client_handling_seconds for clients). The names and labels are
// go-grpc-middleware's, and the Milvus counters use the same histogram,
// since Milvus v2.0's counters carry no latency. Without the option the
// clock is never read.
//
// The zero [Histogram] is classic buckets from 100 µs to 30 s
// ([DefaultBuckets]); native histogram buckets can be added or used alone.
// Buckets that are unsorted, negative or infinite, a native factor of 1 or
// less, an exemplar label that is not a valid label name or takes more than
// half of the runes Prometheus allows an exemplar: each is an error from the
// constructor. Series are created on a method's first call, by grpc_type
// (at Init with [WithInitialSeries]).
//
// An [Exemplar] attaches the call's trace ID (or any value from the
// context) to its observation. On the request path the value is repaired to
// valid UTF-8 and cut to fit, and a panicking Value function is logged and
// the observation made without an exemplar. Exemplars reach Prometheus only
// in the OpenMetrics exposition format, which the /metrics handler must
// offer (httpserver.Options.OpenMetrics, or
// promhttp.HandlerOpts.EnableOpenMetrics) and Prometheus must be started to
// store (--enable-feature=exemplar-storage). Turning OpenMetrics on changes
// what Prometheus ingests: see [Exemplar].
//
// # Milvus 2.6's request counters
//
// Since 2.6 Milvus counts every request of its proxy in one interceptor of
// its own, into milvus_proxy_req_count{node_id, function_name, status,
// db_name, collection_name}, with status "total" before the handler and
// then one of "success", "fail", "retry" and "rejected".
// [Milvus26] counts the same series, as the Milvus release line of
// [WithLine] fills them ([MilvusV2616] by default; [MilvusV2620] and
// [MilvusV2621] add the label cause, user, system or cancel, after
// status), for every unary method of every service, with no table to
// maintain; with [WithGRPCLatency] it observes milvus_proxy_grpc_latency
// too, as Milvus's interceptor does:
//
//	m26, err := interceptor.NewMilvus26(interceptor.WithNodeID(nodeID), interceptor.WithLine(interceptor.MilvusV2621))
//	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus26: m26})
//	if err := install.Register(reg); err != nil { … }
//	srv := grpc.NewServer(install.ServerOptions()...) // after recovery's options
//	// register the services, then install.Init(srv)
//
// It reads db_name and collection_name from the request's GetDbName and
// GetCollectionName, and gives an empty db_name the database that
// Milvus's database interceptor would fill in, from the "dbname" metadata
// or "default", without changing the request. It needs none of Milvus's
// packages: the default status rule reads the status's code too, which
// tells "retry" from "fail".
//
// Unlike Milvus, it bounds db_name and collection_name together: at most
// [WithCollectionLimit] pairs ([DefaultCollectionLimit]), further pairs
// under [OverflowCollectionLabel], and [Milvus26.RemoveCollection] to
// forget a dropped collection. A handler's panic counts as "rejected",
// and milvus_proxy_req_latency (milliseconds, Milvus's buckets) is
// observed for the successful calls of every method. [Milvus26] lists the
// differences.
//
// A warm call allocates nothing, except when a request of a type whose
// database Milvus fills names none and the call carries "dbname"
// metadata: grpc-go's accessor copies the value it finds, one allocation;
// and, on the lines with a cause, when the handler chain returns an error
// of a type with Milvus's GetErrorType method, read by reflection.
//
// # gRPC's own metrics (gRFC A66)
//
// gRFC A66 defines the metrics gRPC itself records, and grpc-go implements
// them in its OpenTelemetry plugin, google.golang.org/grpc/stats/opentelemetry.
// [A66] is the reference's twin without the OpenTelemetry SDK: the
// families, labels, label values, help strings and buckets that grpc-go
// v1.85.0's plugin writes, under its default options, through the
// OpenTelemetry Prometheus exporter (go.opentelemetry.io/otel/exporters/prometheus),
// from Prometheus collectors of its own:
//
//	a, err := interceptor.NewA66()
//	server, err := interceptor.NewServerInstall(interceptor.ServerSets{A66: a})
//	client, err := interceptor.NewClientInstall(interceptor.ClientSets{A66: a})
//	if err := server.Register(reg); err != nil { … } // and client.Register(reg), a no-op for A66
//	gs := grpc.NewServer(server.ServerOptions()...)
//	// register the services, then server.Init(gs)
//	cc, err := grpc.NewClient(target, client.DialOptions()...)
//
// Its server side is a [stats.Handler], not an interceptor, as the
// plugin's is: a call starts when its header arrives and ends when grpc-go
// ends it, so calls that no interceptor sees (a request that fails to
// decode, a method no service has) are counted too. Its client side is an
// interceptor pair and a stats handler, as the plugin's: the call's
// duration, and each attempt's. The code of a call is the one status.Code
// reads from its error, as the plugin's, where [ServerMetrics] and
// [ClientMetrics] read the code a grpc-go server sends: each set derives
// the code its own peer does. [A66] lists where it differs from the plugin
// (codes above 16 are counted as UNKNOWN, so that the series stay bounded).
//
// A server call costs one allocation beyond what grpc-go allocates for any
// stats handler (the call's state, in the one context node the handler
// adds), a unary client call two (the call's and the attempt's), a stream
// a few more, and a message none.
//
// With [WithGRPCMetrics], the set writes too the metrics grpc-go records
// for a channel rather than a call, through its experimental metrics
// recorder: the subchannel's connection attempts, disconnections and open
// connections, and those of load balancing policies and of the xDS client,
// each one named ([GRPCMetrics]), bounded per metric, as the plugin writes
// them.
//
// # Several metric sets on one server
//
// The Milvus counters, Milvus 2.6's, the provider's families and gRPC's
// own metrics each count the same calls in their own dialect. One
// [ServerInstall] counts into all of them:
//
//	ic, err := interceptor.NewMilvusCounters(methods)
//	sm, err := interceptor.NewServerMetrics()
//	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic, Provider: sm},
//		interceptor.WithHistogram(interceptor.Histogram{})) // the install's options
//	if err := install.Register(reg); err != nil { … }
//	gs := grpc.NewServer(install.ServerOptions()...) // after recovery's options
//	// register the services, then install.Init(gs)
//
// Each call is then looked up once, its response's status read once, and
// the clock read once at each end, whatever the number of sets; the one
// histogram, grpc_server_handling_seconds, serves them all. A rule of one
// set (a classifier, a client rule) decides that set's count alone; the
// status rule is every set's.
//
// [A66] joins them as ServerSets.A66: it counts from the install's stats
// handler, which [ServerInstall.ServerOptions] gives beside the
// interceptors. Taking the parts one by one (for a selector, say) is
// possible; a part left out of an install with A66 is counted in
// grpcmetrics_server_install_incomplete_total and logged once.
//
// # Cost
//
// Each kind of call (unary and stream, server and client) is counted by
// one piece of code, which owns the route, the clock, the outcome and the
// panic policy, and tells each installed metric set how the call began and
// ended. Everything that can be resolved before the first call is resolved
// once:
// the route of a method is one read of a Go map, the series of a route (and
// of a client on a route) are resolved on first use and kept, and the
// default rules work out where a message type keeps its status and
// SourceID once per Go type. A warm unary call through the interceptors,
// and a stream's message, allocate nothing (save the exceptions of
// [Milvus26] and [A66] above).
package interceptor
