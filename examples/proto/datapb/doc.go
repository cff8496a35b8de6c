// Package datapb is generated from examples/proto (protobuf package milvus.proto.data: the DataNode service).
// Regenerate with go generate ./examples/proto; see examples/proto/README.md.
// Only this doc.go is hand-written.
package datapb
