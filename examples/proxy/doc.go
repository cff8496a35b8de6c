// Package proxy is an example Milvus proxy: a [Server] that implements the
// milvus.proto.milvus.MilvusService and milvus.proto.proxy.Proxy services of
// [github.com/grpcmetrics/grpcmetrics/examples/proto], every method of them.
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
// The server keeps collections and their partitions by name and answers as
// Milvus does: a duplicate or missing collection or partition is a response
// with a failing milvus.proto.common.Status (gRPC code OK), an empty name a
// gRPC [google.golang.org/grpc/codes.InvalidArgument] error. The other
// methods that name a collection only look it up; the rest succeed. Every
// handler first honours the fault a client asks for in its metadata (see
// [github.com/grpcmetrics/grpcmetrics/examples/fault]), for the outcomes the
// server would not produce by itself; the fault [fault.Panic] panics, so
// install a recovery interceptor.
package proxy
