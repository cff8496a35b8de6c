#!/usr/bin/env bash
# Regenerates the Go code of the example protos with Debian's protoc
# (apt-get install protobuf-compiler) and the pinned Go plugins below.
# Run from anywhere; the output lands next to this script.
set -euo pipefail

# protoc-gen-go follows google.golang.org/protobuf in go.mod.
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

command -v protoc >/dev/null || {
	echo "generate.sh: protoc not found; install it with: apt-get install protobuf-compiler" >&2
	exit 1
}

gobin=$(mktemp -d)
trap 'rm -rf "$gobin"' EXIT
GOBIN="$gobin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
GOBIN="$gobin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"

cd "$root"
PATH="$gobin:$PATH" protoc \
	--proto_path=. \
	--go_out=. --go_opt=module=github.com/grpcmetrics/grpcmetrics \
	--go-grpc_out=. --go-grpc_opt=module=github.com/grpcmetrics/grpcmetrics \
	examples/proto/common.proto \
	examples/proto/internal.proto \
	examples/proto/milvus.proto \
	examples/proto/proxy.proto \
	examples/proto/rootcoord.proto \
	examples/proto/data.proto
