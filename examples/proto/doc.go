// Package proto holds the Milvus-shaped protobuf definitions used by the
// example servers, and the Go code generated from them in the sub-packages
// [github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb],
// [github.com/grpcmetrics/grpcmetrics/examples/proto/internalpb],
// [github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb],
// [github.com/grpcmetrics/grpcmetrics/examples/proto/proxypb],
// [github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb] and
// [github.com/grpcmetrics/grpcmetrics/examples/proto/datapb].
//
// The proto packages, services and methods have Milvus's own names, so the full
// gRPC method names (for example /milvus.proto.milvus.MilvusService/CreateCollection)
// are the ones grpcmetrics' default method table maps. Each response has the
// status shape the method has in Milvus: a bare milvus.proto.common.Status, a
// message with a status field, or no status at all. Messages keep only a few
// representative fields and are not wire-compatible with Milvus.
//
// The generated code is checked in; regenerate it with go generate in this
// directory, which runs generate.sh (see README.md).
package proto

//go:generate ./generate.sh
