// Package interceptor counts gRPC calls into the Milvus counters of the
// registry package, with no metric call in any handler.
//
// An [Interceptor] is built once from a [methodmap.Map] by [New] and
// installed as a unary server interceptor:
//
//	m := registry.New()
//	if err := m.Register(reg); err != nil { … }
//	methods, err := methodmap.Default(m)
//	ic, err := interceptor.New(methods)
//	if err := ic.Register(reg); err != nil { … } // the interceptor's own metrics
//	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(
//		recovery.UnaryServerInterceptor(), // outside: sees the re-raised panic
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
// Everything that can be resolved before the first call is resolved by
// [New]: the route of a method is one read of a Go map, the series of a
// route (and of a client on a route) are resolved once, and the default
// rules work out where a message type keeps its status and SourceID once
// per Go type. No path of a call allocates.
package interceptor
