// Package internalpb is generated from examples/proto (protobuf package milvus.proto.internal: the component-state and channel messages used by the Proxy service).
// Regenerate with go generate ./examples/proto; see examples/proto/README.md.
// Only this doc.go is hand-written.
package internalpb
