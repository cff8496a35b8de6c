// Package datanode is an example Milvus data node: a [Server] that implements
// the milvus.proto.data.DataNode service of
// [github.com/grpcmetrics/grpcmetrics/examples/proto]. It keeps nothing: its
// counters have neither a client_id nor a status label, only type.
//
// No handler contains a metric call: counting is the job of the grpcmetrics
// interceptor the caller installs through the [grpc.ServerOption] values given
// to [Server.NewGRPCServer]. Every handler first honours the fault a client
// asks for in its metadata (see
// [github.com/grpcmetrics/grpcmetrics/examples/fault]); the fault [fault.Panic]
// panics, so install a recovery interceptor.
package datanode
