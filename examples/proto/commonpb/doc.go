// Package commonpb is generated from examples/proto (protobuf package milvus.proto.common: Status, MsgBase and their enums).
// Regenerate with go generate ./examples/proto; see examples/proto/README.md.
// Only this doc.go is hand-written.
package commonpb
