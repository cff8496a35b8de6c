// Package catalog is the in-memory store of collections and partitions
// behind the example proxy and rootcoord servers, and the methods they have
// in common. Its [Catalog] keeps collections and their partitions by name;
// the other methods of the servers answer with [ForCollection] (does the
// collection exist?) or [Succeed]. Every answer goes through
// [github.com/grpcmetrics/grpcmetrics/examples/fault.Handle], so a client can
// ask for any failure the servers would not produce by themselves.
package catalog
