// Package methodmap maps full gRPC method names, such as
// "/milvus.proto.rootcoord.RootCoord/CreateCollection", to the Prometheus
// counter that counts them and the label scheme that counter uses.
//
// A [Map] is built once from [Route] values by [New], which validates every
// route (method name, duplicates, nil counters, label names) and returns an
// error naming the first bad one. The map is immutable afterwards and safe
// for concurrent use; [Map.Lookup] is one read of an immutable hash table,
// which hashes only the name's length and two 8-byte words of it and then
// compares the whole name, and for an unknown method it only reports "not
// found".
//
// [MilvusRoutes] returns the built-in Milvus table of 49 routes: 28
// MilvusService and 5 Proxy methods on the proxy counters, 14 RootCoord methods
// on the rootcoord counters and 2 DataNode methods on the datanode counters.
// Its service names can be overridden through [Services], and callers may
// append routes of their own (for example for the proxy's Retrieve counter,
// which has no RPC in Milvus today) before calling [New]. [Default] builds the
// table as it is.
//
// [Map.Check] compares a map with the services registered on a gRPC server, to
// find server methods that nothing counts and mapped methods that the server's
// services do not have.
//
// This package depends only on the registry package, client_golang and grpc
// (for [Map.Check]); the interceptor package builds its own table of routes
// from the map once, in interceptor.New.
package methodmap
