package interceptor

// StatusFunc reports whether a response carries a failing status. It sees
// only the responses of calls whose handler returned no error. It must be
// safe for concurrent use and should not allocate if the interceptor is to
// stay allocation-free. A panic in it is recovered, logged and counted as
// fail.
type StatusFunc func(resp any) (failed bool)

// StatusMessage is the method set of a Milvus status message, such as the
// generated Go type of milvus.proto.common.Status, with E its ErrorCode enum
// type. A status fails when GetErrorCode() != 0 or GetCode() != 0.
type StatusMessage[E ~int32] interface {
	GetErrorCode() E
	GetCode() int32
}

// MilvusStatus returns a [StatusFunc] that judges responses through the
// caller's own status type S (with ErrorCode enum E), with type assertions
// alone: a response that is an S, or that has a GetStatus() S method, fails
// when that status fails; every other response has no status. It gives what
// the default rule gives for Milvus's responses, with no reflection, and
// serves status types that are no protobuf messages too:
//
//	interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]())
//
// S's getters must be nil-safe, as generated protobuf getters are, since an
// unset status field is a nil S (and succeeds).
func MilvusStatus[S StatusMessage[E], E ~int32]() StatusFunc {
	return func(resp any) bool {
		switch r := resp.(type) {
		case S:
			return r.GetErrorCode() != 0 || r.GetCode() != 0
		case interface{ GetStatus() S }:
			s := r.GetStatus()
			return s.GetErrorCode() != 0 || s.GetCode() != 0
		}
		return false
	}
}
