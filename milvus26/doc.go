// Package milvus26 holds tests of the interceptor package's Milvus 2.6 metric
// set on the real milvus-proto v2.6 types. It is a module of its own so that
// milvus-proto never becomes a dependency of the library.
package milvus26
