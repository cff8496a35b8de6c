// Package milvuspb is generated from examples/proto (protobuf package milvus.proto.milvus: the MilvusService and its requests and responses).
// Regenerate with go generate ./examples/proto; see examples/proto/README.md.
// Only this doc.go is hand-written.
package milvuspb
