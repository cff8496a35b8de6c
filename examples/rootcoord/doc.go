// Package rootcoord is an example Milvus root coordinator: a [Server] that
// implements the milvus.proto.rootcoord.RootCoord service of
// [github.com/grpcmetrics/grpcmetrics/examples/proto] over an in-memory catalog
// of collections, partitions, indexes and segments.
//
// No handler contains a metric call: counting, including the client_id label
// that the grpcmetrics interceptor takes from each request's MsgBase, is the
// job of the interceptor the caller installs through the [grpc.ServerOption]
// values given to [Server.NewGRPCServer].
//
// A duplicate or missing object is a response with a failing
// milvus.proto.common.Status, and an empty collection or partition name is a
// gRPC [google.golang.org/grpc/codes.InvalidArgument] error. Every handler
// first honours the fault a client asks for in its metadata (see
// [github.com/grpcmetrics/grpcmetrics/examples/fault]); the fault [fault.Panic]
// panics, so install a recovery interceptor.
package rootcoord
