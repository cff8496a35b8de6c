package catalog

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
)

// Success returns a new successful Milvus status.
func Success() *commonpb.Status {
	return &commonpb.Status{ErrorCode: commonpb.ErrorCode_Success}
}

// Failure returns a new failing Milvus status with the given error code and a
// formatted reason.
func Failure(code commonpb.ErrorCode, format string, args ...any) *commonpb.Status {
	return &commonpb.Status{ErrorCode: code, Reason: fmt.Sprintf(format, args...)}
}

// RequireName returns a gRPC [codes.InvalidArgument] error naming what if
// name is empty, and nil otherwise.
func RequireName(what, name string) error {
	if name == "" {
		return status.Errorf(codes.InvalidArgument, "%s name must not be empty", what)
	}
	return nil
}
