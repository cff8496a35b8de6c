// Package proxy is an example Milvus proxy: a [Server] that implements the
// milvus.proto.milvus.MilvusService and milvus.proto.proxy.Proxy services of
// [github.com/grpcmetrics/grpcmetrics/examples/proto] over an in-memory catalog
// of collections, partitions, indexes and segments.
//
// No handler contains a metric call: counting is the job of the grpcmetrics
// interceptor, which the caller installs through the [grpc.ServerOption] values
// given to [Server.NewGRPCServer]:
//
//	srv := proxy.New().NewGRPCServer(grpc.ChainUnaryInterceptor(
//		recovery.UnaryServerInterceptor(recoverylog.Option(logger)),
//		ic.UnaryServerInterceptor(),
//	))
//
// (recoverylog, in [github.com/grpcmetrics/grpcmetrics/examples/recoverylog],
// logs a panic on the server and answers the client Internal; recovery's
// default handler would send it the panic value and the stack.)
//
// The handlers behave like Milvus's: a duplicate or missing object is a
// response with a failing milvus.proto.common.Status, an empty collection or
// partition name is a gRPC [google.golang.org/grpc/codes.InvalidArgument]
// error, and Search and Query need a loaded collection. Every handler first
// honours the fault a client asks for in its metadata (see
// [github.com/grpcmetrics/grpcmetrics/examples/fault]); the fault [fault.Panic]
// panics, so install a recovery interceptor.
package proxy
