// Package fault lets a client ask the example servers to fail a call on
// purpose, so tests and the demo can produce every outcome grpcmetrics tells
// apart without a special server build.
//
// A client puts one [Mode] in the outgoing gRPC metadata under [MetadataKey],
// most simply with [AppendToOutgoingContext]:
//
//	ctx = fault.AppendToOutgoingContext(ctx, fault.ErrorCode)
//	st, err := client.CreateCollection(ctx, req) // st.ErrorCode == UnexpectedError
//
// Every handler of the example servers runs through [Handle], which reads the
// mode back with [FromIncomingContext] and then returns a gRPC error
// ([Error]), panics ([Panic]), answers with a failing Milvus status
// ([ErrorCode], [Code]) or, without a mode, runs the real handler. A response
// type without a Milvus status (such as DummyResponse) cannot carry a failing
// status, so for it [ErrorCode] and [Code] run the real handler.
package fault
