package interceptor

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
)

// Milvus26Line is a release line of Milvus 2.6: the label names, label
// values and families with which [Milvus26] counts calls, as the Milvus
// releases of the line fill them. Give one to [WithLine]. The zero value is
// [MilvusV2616].
//
// Milvus changed how its proxy labels an outcome twice in the 2.6 series:
//   - v2.6.19 split the status values in place ("fail_input",
//     "fail_system", "rejected_user", "rejected_system", "cancel"). Every
//     query on status="fail" or status="rejected" went silent, an alert
//     that stops firing rather than erroring, and Milvus withdrew the
//     shape in its next release. No line writes it: a set that wrote it
//     would break the same dashboards again.
//   - v2.6.20 restored the status values and moved the classification into
//     a new label, cause; v2.6.21, the 2.6 branch after it and 3.0 write
//     an empty cause on the outcomes that have none.
//
// See docs/milvus26.md for which line writes what, and how to choose.
type Milvus26Line int

const (
	// MilvusV2616 counts as Milvus v2.6.16, v2.6.17 and v2.6.18 do, and is
	// the default:
	//
	//	milvus_proxy_req_count{node_id, function_name, status, db_name, collection_name}
	//	milvus_proxy_grpc_latency{node_id, function_name, status}   (with WithGRPCLatency)
	//
	// with status "total", "success", "fail", "retry", "rejected" (and
	// "abandon", through [Milvus26.Abandon]).
	MilvusV2616 Milvus26Line = iota
	// MilvusV2620 counts as Milvus v2.6.20 does: the statuses of
	// [MilvusV2616] and a label cause, after status,
	//
	//	milvus_proxy_req_count{node_id, function_name, status, cause, db_name, collection_name}
	//	milvus_proxy_grpc_latency{node_id, function_name, status, cause}
	//
	// with cause "user", "system" or "cancel" on "fail" and "rejected",
	// and "na" on every other status.
	MilvusV2620
	// MilvusV2621 counts as Milvus v2.6.21, the 2.6 branch after it and
	// 3.0 do: as [MilvusV2620], but with an empty cause (to PromQL, no
	// cause label) on the statuses other than "fail" and "rejected", so
	// that those series are the ones [MilvusV2616] writes.
	MilvusV2621
	numMilvus26Lines
)

// String returns the first release of the line, such as "v2.6.16".
func (l Milvus26Line) String() string {
	switch l {
	case MilvusV2616:
		return "v2.6.16"
	case MilvusV2620:
		return "v2.6.20"
	case MilvusV2621:
		return "v2.6.21"
	}
	return fmt.Sprintf("Milvus26Line(%d)", int(l))
}

// causes reports whether the line writes the cause label.
func (l Milvus26Line) causes() bool { return l == MilvusV2620 || l == MilvusV2621 }

// WithLine sets the release line whose label names, label values and
// families [Milvus26] writes; the default is [MilvusV2616]. A value that is
// no line makes [NewMilvus26] return an error. [WithRootCoordDDL]'s
// families are the same on every line. Only [NewMilvus26] takes it.
func WithLine(l Milvus26Line) Milvus26Option {
	return milvus26OptionFunc(func(c *milvus26Config) { c.line = l })
}

// WithGRPCLatency turns on milvus_proxy_grpc_latency (help "latency of each
// grpc request"), which Milvus's request interceptor observes for every
// request: the time of each call that ends, from before the handler (and
// the interceptors inside this set) to after, in whole milliseconds, in
// Milvus's buckets 1, 2, 4 … 131072, labelled node_id, function_name and
// the call's status ("success", "fail", "retry" or "rejected"), and on the
// lines that write it the call's cause. Without it the set neither reads
// the clock for it nor exports the histogram. [NewMilvus26] refuses it with
// [WithRootCoordDDL]: Milvus's rootcoord has no such family. Only
// [NewMilvus26] takes it.
func WithGRPCLatency() Milvus26Option {
	return milvus26OptionFunc(func(c *milvus26Config) { c.grpcLatency = true })
}

// The outcomes of a call as Milvus26 counts them, by index: a status and,
// on the lines that write it, a cause. The first five are the statuses of
// [MilvusV2616]; on the cause lines m26Fail and m26Rejected carry the cause
// "system", and the statuses without a responsible party carry none.
const (
	m26Total = iota
	m26Success
	m26Fail // cause "system"
	m26Retry
	m26Rejected // cause "system"
	m26Abandon
	m26FailUser
	m26FailCancel
	m26RejectedUser
	m26RejectedCancel
	m26NumOutcomes
)

// m26StatusName returns the status label value of outcome o.
func m26StatusName(o int) string {
	return [m26NumOutcomes]string{
		"total", "success", "fail", "retry", "rejected", "abandon",
		"fail", "fail", "rejected", "rejected",
	}[o]
}

// m26CauseName returns the cause label value of outcome o on line l, which
// writes causes.
func m26CauseName(o int, l Milvus26Line) string {
	switch o {
	case m26Fail, m26Rejected:
		return "system"
	case m26FailUser, m26RejectedUser:
		return "user"
	case m26FailCancel, m26RejectedCancel:
		return "cancel"
	}
	if l == MilvusV2620 {
		return "na"
	}
	return ""
}

// m26Labels returns the label values of outcome o after node_id and
// function_name: the status, and on the cause lines the cause.
func m26Labels(o int, l Milvus26Line) []string {
	if !l.causes() {
		return []string{m26StatusName(o)}
	}
	return []string{m26StatusName(o), m26CauseName(o, l)}
}

// Milvus's codes that its ParseMetricLabel reads on a failing status
// (package merr): a client's cancellation, and the two retryable codes.
const (
	m26CanceledCode       = 10000 // merr.CanceledCode
	m26RateLimitCode      = 8     // merr.ErrServiceRateLimit
	m26SchemaMismatchCode = 109   // merr.ErrCollectionSchemaMismatch
)

// outcome classifies how a call ended as Milvus's ParseMetricLabel does
// on the set's line (pkg/util/requestutil/getter.go at the line's release).
//
// On MilvusV2616, an error (or a panic) is "rejected"; otherwise a failing
// status is "retry" with code 8 or 109, else "fail"; else "success".
//
// On the cause lines, a failing status comes first, even beside an error:
// code 10000 is ("fail", "cancel"); code 8 or 109 "retry"; a status flagged
// as an input error ("fail", "user"); any other ("fail", "system"). Then an
// error: context.Canceled is ("rejected", "cancel"); an input error of
// Milvus's package merr ("rejected", "user"); a gRPC status error of code
// Unauthenticated, PermissionDenied or InvalidArgument ("rejected", "user");
// any other error, a gRPC Canceled status error among them, ("rejected",
// "system"). A panic is ("rejected", "system"), as the error that recovery
// makes of it would be.
func (m *Milvus26) outcome(how *ending) int {
	if !m.line.causes() {
		return how.milvus26Status()
	}
	if how.bodyFailed || how.errBodyFailed {
		switch {
		case how.statusCode == m26CanceledCode:
			return m26FailCancel
		case how.statusCode == m26RateLimitCode || how.statusCode == m26SchemaMismatchCode:
			return m26Retry
		case how.statusInput:
			return m26FailUser
		}
		return m26Fail
	}
	switch {
	case how.panicked:
		return m26Rejected
	case how.err != nil:
		return m.rejectedCause(how.err)
	case how.ruleFailed:
		return m26Fail
	}
	return m26Success
}

// milvus26Status reads how a call ended as Milvus v2.6.16 does: rejected
// on an error or a panic, retry or fail on a failing status, fail when a
// rule panicked, success otherwise.
func (how *ending) milvus26Status() int {
	switch {
	case how.err != nil || how.panicked:
		return m26Rejected
	case how.bodyFailed && (how.statusCode == m26RateLimitCode || how.statusCode == m26SchemaMismatchCode):
		return m26Retry
	case how.bodyFailed || how.ruleFailed:
		return m26Fail
	}
	return m26Success
}

// rejectedCause classifies a call's error on the cause lines (see
// outcome). Milvus checks its input errors first because they carry no
// gRPC status: status.Code would call them Unknown.
func (m *Milvus26) rejectedCause(err error) int {
	if errors.Is(err, context.Canceled) {
		return m26RejectedCancel
	}
	if _, input := m.inputError(err); input {
		return m26RejectedUser
	}
	if c, ok := statusCode(err); ok {
		switch c {
		case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument:
			return m26RejectedUser
		}
	}
	return m26Rejected
}

// inputError reports whether err is an input error of Milvus's package
// merr, as merr.GetErrorType reads it since v2.6.20: the first error in
// err's tree (depth first, as errors.As walks it) with a method
// GetErrorType() T, T an int32 type (merr's ErrorType), says (found); its
// value 1 (merr.InputError) is an input error. Reading it needs no import
// of Milvus: the method is found by reflection, once per type, and called
// by reflection, which allocates; only errors of a type with the method pay
// for it. errors.As would also ask an As method; this walk does not.
func (m *Milvus26) inputError(err error) (found, input bool) {
	for err != nil {
		if ix := m.errorTypeMethod(reflect.TypeOf(err)); ix >= 0 {
			return true, reflect.ValueOf(err).Method(ix).Call(nil)[0].Int() == 1
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if found, input := m.inputError(e); found {
					return true, input
				}
			}
			return false, false
		default:
			return false, false
		}
	}
	return false, false
}

// errorTypeMethod returns the index of t's method GetErrorType() T, with T
// an int32 type, or -1, worked out once per type: error types are few and
// fixed by the program.
func (m *Milvus26) errorTypeMethod(t reflect.Type) int {
	if v, ok := m.errorTypes.Load(t); ok {
		return v.(int)
	}
	ix := -1
	if mt, ok := t.MethodByName("GetErrorType"); ok &&
		mt.Type.NumIn() == 1 && mt.Type.NumOut() == 1 && mt.Type.Out(0).Kind() == reflect.Int32 {
		ix = mt.Index
	}
	m.errorTypes.Store(t, ix)
	return ix
}

// Abandon counts a request of method fullMethod ("/milvus.proto.milvus.MilvusService/DescribeCollection")
// with request req as abandoned, status "abandon" (and on the lines that
// write a cause, the cause of the statuses without one), under the
// (db_name, collection_name) pair the set reads from req, as a call's pair,
// within the collection limit. Milvus's interceptor never writes "abandon":
// its handlers do, by hand, when a task cannot be queued (the proxy's
// DescribeCollection, in every line). Call it where such a handler would;
// the interceptor counts the call as it ends besides ("fail", as Milvus's
// does). A request whose getter panics counts under the pair ("", ""). With
// [WithRootCoordDDL] it counts nothing: rootcoord has no such status.
func (m *Milvus26) Abandon(ctx context.Context, fullMethod string, req any) {
	if m.rootCoord {
		return
	}
	r := m.route(fullMethod)
	m.abandonSeries(ctx, req, r).counter(m26Abandon).Inc()
}

// abandonSeries returns the series of an abandoned request: of its pair,
// or of ("", "") when a getter panics, as a call's would.
func (m *Milvus26) abandonSeries(ctx context.Context, req any, r *m26Route) (s *m26Series) {
	defer func() {
		if p := recover(); p != nil {
			m.log().Error("grpcmetrics: a request's GetDbName or GetCollectionName panicked; counting the abandoned request under (\"\", \"\")",
				zap.String("method", r.name), zap.Any("panic", p))
			s = m.seriesOf(ctx, req, r, true)
		}
	}()
	return m.seriesOf(ctx, req, r, false)
}
