// Package rootcoord is an example Milvus root coordinator: a [Server] that
// implements the milvus.proto.rootcoord.RootCoord service of
// [github.com/grpcmetrics/grpcmetrics/examples/proto], every method of it.
//
// No handler contains a metric call: counting, including the client_id label
// that the grpcmetrics interceptor takes from each request's MsgBase, is the
// job of the interceptor the caller installs through the [grpc.ServerOption]
// values given to [Server.NewGRPCServer].
//
// The server keeps collections and their partitions by name, as the example
// proxy does: a duplicate or missing collection or partition is a response
// with a failing milvus.proto.common.Status (gRPC code OK), an empty name a
// gRPC [google.golang.org/grpc/codes.InvalidArgument] error. It keeps no
// segments. Every handler first honours the fault a client asks for in its
// metadata (see [github.com/grpcmetrics/grpcmetrics/examples/fault]); the
// fault [fault.Panic] panics, so install a recovery interceptor.
package rootcoord
