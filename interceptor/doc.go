// Package interceptor counts gRPC calls into Prometheus metrics, with no
// metric call in any handler: into the Milvus counters of the registry
// package ([Interceptor]), or, for any service, under the metric names of
// go-grpc-middleware's prometheus provider ([ServerMetrics] and
// [ClientMetrics]).
//
// # Milvus counters
//
// An [Interceptor] is built once from a [methodmap.Map] by [New] and
// installed as a unary server interceptor:
//
//	m := registry.New()
//	if err := m.Register(reg); err != nil { … }
//	methods, err := methodmap.Default(m)
//	ic, err := interceptor.New(methods)
//	if err := ic.Register(reg); err != nil { … } // the interceptor's own metrics
//	onPanic := func(ctx context.Context, p any) error { // recovery's default would send p and the stack to the client
//		logger.Error("handler panic", zap.Any("panic", p), zap.Stack("stack"))
//		return status.Error(codes.Internal, "internal error")
//	}
//	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(
//		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(onPanic)), // outside: sees the re-raised panic
//		ic.UnaryServerInterceptor(),
//	))
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
// and [Interceptor.RemoveClient] forgets a client that left.
//
// [Interceptor.StreamServerInterceptor] counts streaming methods that a map
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
// # Latency
//
// [WithHistogram] turns on a handling-time histogram,
// grpc_server_handling_seconds (grpc_client_handling_seconds for clients),
// with classic buckets, native buckets, or both, and optional exemplars
// from the call's context. The clock is read only when it is on.
//
// # Cost
//
// Everything that can be resolved before the first call is resolved once:
// the route of a method is one read of a Go map, the series of a route (and
// of a client on a route) are resolved on first use and kept, and the
// default rules work out where a message type keeps its status and
// SourceID once per Go type. A warm unary call, and a stream's message,
// allocate nothing.
package interceptor
