// Package interceptor counts gRPC calls into the Milvus counters of the
// registry package, with no metric call in any handler.
//
// An [Interceptor] is built once from a [methodmap.Map] by [New] and installed
// as a unary server interceptor:
//
//	m := registry.New()
//	if err := m.Register(reg); err != nil { … }
//	methods, err := methodmap.Default(m)
//	ic, err := interceptor.New(methods,
//		interceptor.WithStatusType[*commonpb.Status, commonpb.ErrorCode](),
//		interceptor.WithBaseType[*commonpb.MsgBase](),
//	)
//	reg.MustRegister(ic) // the interceptor's own metrics
//	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(
//		recovery.UnaryServerInterceptor(), // outside: sees the re-raised panic
//		ic.UnaryServerInterceptor(),
//	))
//
// For each call of a mapped method the interceptor increments the "total"
// series before the handler runs and exactly one of "success" or "fail" when
// it ends, so total == success + fail once no call is in flight. A call fails
// when the handler returns an error, panics (the panic is counted and then
// goes on up the chain untouched), or returns a failing Milvus status, either
// as the whole response or in its "status" field. [WithOutcome] overrides the
// rule per method. Calls of methods not in the map pass straight through.
//
// [Interceptor.Registrar] counts the same calls without being an
// interceptor: services registered through it get their mapped handlers
// wrapped, which spares gRPC's per-call allocations for interceptors:
//
//	srv := grpc.NewServer()
//	rootcoordpb.RegisterRootCoordServer(ic.Registrar(srv), impl)
//
// RootCoord-style counters are also labelled with the caller's client_id,
// "client_<SourceID>" from the request's MsgBase, or a fixed fallback without
// one. At most [DefaultClientLimit] (see [WithClientLimit]) distinct values
// are tracked; further clients count under a single overflow value, and
// [Interceptor.RemoveClient] forgets a client that left.
//
// # Cost
//
// Everything that can be resolved before the first call is resolved by [New]:
// finding the route is one read of an immutable hash table, client children
// are cached, and no lock is taken on the common path. Reading the status and
// the SourceID costs two calls of the caller's functions with
// [WithStatusFunc] and [WithSourceIDFunc] (the fastest path), two generic
// type switches with [WithStatusType] and [WithBaseType], and without options
// two reads at struct offsets worked out once per generated message type
// (protoreflect for other messages). Every path allocates nothing. The two
// atomic increments that every counted call needs ("total", then "success"
// or "fail") are most of what is left; BENCHMARKS.md in the repository has
// the figures.
package interceptor
