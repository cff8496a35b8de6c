// Package proxypb is generated from examples/proto (protobuf package milvus.proto.proxy: the internal Proxy service).
// Regenerate with go generate ./examples/proto; see examples/proto/README.md.
// Only this doc.go is hand-written.
package proxypb
