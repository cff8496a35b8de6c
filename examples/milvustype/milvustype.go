package milvustype

import (
	"context"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// Status reports whether a response carries a failing Milvus status, whole
// or in its status field (error_code != 0 or code != 0). It is an
// [interceptor.StatusFunc].
func Status(resp any) bool {
	switch r := resp.(type) {
	case *commonpb.Status:
		return r.GetErrorCode() != 0 || r.GetCode() != 0
	case interface{ GetStatus() *commonpb.Status }:
		s := r.GetStatus()
		return s.GetErrorCode() != 0 || s.GetCode() != 0
	}
	return false
}

// Client names the client of a request by its MsgBase's SourceID, or the
// unknown client when the request has no base or a nil one. It is an
// [interceptor.ClientIDFunc].
func Client(_ context.Context, req any) interceptor.ClientID {
	if r, ok := req.(interface{ GetBase() *commonpb.MsgBase }); ok && r.GetBase() != nil {
		return interceptor.SourceID(r.GetBase().GetSourceID())
	}
	return interceptor.ClientID{}
}
