// Package milvustype holds the typed fast paths of the grpcmetrics
// interceptor for the examples' generated Milvus types: what a Milvus server
// passes to interceptor.WithStatusFunc and interceptor.WithSourceIDFunc. The
// demo, the end-to-end tests and the benchmarks share them.
package milvustype
