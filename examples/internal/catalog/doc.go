// Package catalog is the in-memory collection, partition, index and segment
// store behind the example proxy and rootcoord servers. Its methods take the
// generated milvus.proto.milvus requests and return the generated responses,
// with Milvus-style failing statuses for missing or duplicate objects and a
// gRPC [codes.InvalidArgument] error for an empty name. It knows nothing of
// fault injection or metrics: the servers wrap each method with
// [github.com/grpcmetrics/grpcmetrics/examples/fault.Handle].
package catalog
