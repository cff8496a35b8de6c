// Package methodmap maps full gRPC method names, such as
// "/milvus.proto.rootcoord.RootCoord/CreateCollection", to the Prometheus
// counter that counts them and the label scheme that counter uses.
//
// A [Map] is built once from [Route] values by [New], which validates every
// route (method name, duplicates, nil counters, label names) and returns an
// error naming the first bad one. The map is immutable afterwards and safe
// for concurrent use; [Map.Lookup] is one read of a Go map that nothing
// writes after New, and for an unknown method it only reports "not found".
//
// [MilvusRoutes] returns the built-in Milvus table of 49 routes: 28
// MilvusService and 5 Proxy methods on the proxy counters, 14 RootCoord methods
// on the rootcoord counters and 2 DataNode methods on the datanode counters.
// Its service names can be overridden through [Services], and callers may
// append routes of their own (for example for the proxy's Retrieve counter,
// which has no RPC in Milvus today) before calling [New]. [Default] builds the
// table as it is. Register the registry components first
// ([registry.Metrics.Register]): New refuses Milvus routes whose component
// was never registered, since they would count where nothing scrapes.
//
// [Map.Check] compares a map with the services registered on a gRPC server, to
// find server methods that nothing counts, mapped methods that the server's
// services do not have, and mapped services that the server does not
// register at all (a typo in a service name shows up there). Call it at
// start, once the services are registered.
//
// A [Coverage] that is not OK is information, not always an error. The
// built-in table is Milvus v2.0's: on a newer Milvus, whose services have
// more methods (milvus-proto v2.6.18's MilvusService has 114 unary methods,
// of which the table maps 28), Check lists the others as Unmapped. They are
// served and pass through uncounted, while the 28 keep their v2.0 counters.
// Log the coverage, and count every method with the interceptor package's
// ServerMetrics beside the Milvus interceptor, or append routes of your own.
//
// This package depends only on the registry package, client_golang and grpc
// (for [Map.Check]); the interceptor package reads the map's entries once,
// in interceptor.New.
package methodmap
