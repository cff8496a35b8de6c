package milvustype

import "github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"

// StatusOf finds the Milvus status of a response, whole or in its status
// field, and reports whether it fails (error_code != 0 or code != 0). It
// matches interceptor.StatusFunc.
func StatusOf(resp any) (failed, found bool) {
	switch r := resp.(type) {
	case *commonpb.Status:
		return r.GetErrorCode() != 0 || r.GetCode() != 0, true
	case interface{ GetStatus() *commonpb.Status }:
		s := r.GetStatus()
		return s.GetErrorCode() != 0 || s.GetCode() != 0, true
	}
	return false, false
}

// SourceIDOf returns the SourceID of a request's MsgBase; ok is false when
// the request has no base or a nil one. It matches interceptor.SourceIDFunc.
func SourceIDOf(req any) (id int64, ok bool) {
	if r, isBased := req.(interface{ GetBase() *commonpb.MsgBase }); isBased && r.GetBase() != nil {
		return r.GetBase().GetSourceID(), true
	}
	return 0, false
}
