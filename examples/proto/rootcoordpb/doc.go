// Package rootcoordpb is generated from examples/proto (protobuf package milvus.proto.rootcoord: the RootCoord service).
// Regenerate with go generate ./examples/proto; see examples/proto/README.md.
// Only this doc.go is hand-written.
package rootcoordpb
