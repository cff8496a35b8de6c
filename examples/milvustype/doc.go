// Package milvustype holds hand-written status and client rules for the
// examples' generated Milvus types: what a Milvus server could pass to
// interceptor.WithStatus and interceptor.WithClientID instead of the
// library's generic helpers interceptor.MilvusStatus and
// interceptor.MilvusSourceID. The end-to-end tests and the benchmarks use
// them as the "own functions" way of configuring the interceptor.
package milvustype
