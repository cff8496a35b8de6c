package interceptor

import (
	"reflect"
	"sync/atomic"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// StatusMessage is the method set of a Milvus status message, such as the
// generated Go type of milvus.proto.common.Status, with E its ErrorCode enum
// type. A status fails when GetErrorCode() != 0 or GetCode() != 0.
type StatusMessage[E ~int32] interface {
	GetErrorCode() E
	GetCode() int32
}

// WithStatusType makes the interceptor recognise the caller's own Milvus
// status type S (with ErrorCode enum E) by type assertions alone: a response
// that is an S, or that has a GetStatus() S method, is judged by it, through
// its getters alone, with no reflection. It also serves status types that
// are no protobuf messages, which the default rules do not read:
//
//	interceptor.WithStatusType[*commonpb.Status, commonpb.ErrorCode]()
//
// Responses that match neither form fall back to the default rule (see
// [New]). S's getters must be nil-safe, as generated protobuf getters are.
// [WithStatusFunc] does the same a little faster.
func WithStatusType[S StatusMessage[E], E ~int32]() Option {
	return optionFunc(func(c *config) {
		c.status = typedStatus[S, E]
		c.statusSets++
	})
}

func typedStatus[S StatusMessage[E], E ~int32](resp any) (failed, found bool) {
	switch r := resp.(type) {
	case S:
		return r.GetErrorCode() != 0 || r.GetCode() != 0, true
	case interface{ GetStatus() S }:
		s := r.GetStatus()
		return s.GetErrorCode() != 0 || s.GetCode() != 0, true
	}
	return false, false
}

// reflectStatus is the default rule: it finds the status of protobuf
// responses through their descriptors, and reads it at struct offsets where
// the message type allows (see layout.go). The shape of a message type is
// worked out once and cached per route; a route nearly always answers with
// one message type.
type reflectStatus struct {
	cache atomic.Pointer[statusShape]
}

// statusShape says where the status of one response message type sits.
type statusShape struct {
	goType reflect.Type  // the Go type the shape was worked out for
	layout *statusLayout // non-nil if goType is a generated struct
	desc   protoreflect.MessageDescriptor
	// field is the "status" field, or nil if the message is itself a status.
	field protoreflect.FieldDescriptor
	// found is false if the message type carries no status.
	found bool
	// errorCode and code are the status message's fields, either may be nil.
	errorCode, code protoreflect.FieldDescriptor
}

func (d *reflectStatus) detect(resp any) (failed, found bool) {
	t := reflect.TypeOf(resp)
	sh := d.cache.Load()
	if sh != nil && sh.goType == t && sh.layout != nil {
		return sh.layout.detect(resp)
	}
	if v := reflect.ValueOf(resp); v.Kind() == reflect.Pointer && v.IsNil() {
		return false, false // a typed nil, of any message API
	}
	m, ok := messageOf(resp)
	if !ok {
		return false, false
	}
	if m == nil || !m.IsValid() { // a typed nil response
		return false, false
	}
	if desc := m.Descriptor(); sh == nil || sh.desc != desc || sh.goType != t {
		sh = newStatusShape(desc)
		sh.goType, sh.layout = t, newStatusLayout(t, sh)
		d.cache.Store(sh)
	}
	if !sh.found {
		return false, false
	}
	st := m
	if sh.field != nil {
		if !m.Has(sh.field) {
			return false, true // an unset status is Milvus's success
		}
		st = m.Get(sh.field).Message()
	}
	if sh.errorCode != nil && st.Get(sh.errorCode).Enum() != 0 {
		return true, true
	}
	return sh.code != nil && st.Get(sh.code).Int() != 0, true
}

func newStatusShape(desc protoreflect.MessageDescriptor) *statusShape {
	sh := &statusShape{desc: desc}
	if ec, c, ok := statusFields(desc); ok {
		sh.found, sh.errorCode, sh.code = true, ec, c
		return sh
	}
	f := desc.Fields().ByName("status")
	if f == nil || f.Kind() != protoreflect.MessageKind || f.Cardinality() == protoreflect.Repeated {
		return sh
	}
	if ec, c, ok := statusFields(f.Message()); ok {
		sh.found, sh.field, sh.errorCode, sh.code = true, f, ec, c
	}
	return sh
}

// statusFields reports whether desc is a Milvus-style status message: named
// "Status", with an enum (or integer) "error_code" field and/or an integer
// "code" field, neither repeated.
func statusFields(desc protoreflect.MessageDescriptor) (errorCode, code protoreflect.FieldDescriptor, ok bool) {
	if desc.Name() != "Status" {
		return nil, nil, false
	}
	fs := desc.Fields()
	if f := fs.ByName("error_code"); f != nil && f.Cardinality() != protoreflect.Repeated {
		if f.Kind() == protoreflect.EnumKind {
			errorCode = f
		}
	}
	if f := fs.ByName("code"); f != nil && f.Cardinality() != protoreflect.Repeated {
		switch f.Kind() {
		case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
			protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
			code = f
		}
	}
	return errorCode, code, errorCode != nil || code != nil
}

// StatusFunc finds the Milvus status of a response and reports whether it
// fails; found is false when the response carries none, and the default
// rule then has a look. See [WithStatusFunc].
type StatusFunc func(resp any) (failed, found bool)

// WithStatusFunc makes the interceptor judge responses with fn, the fastest
// path of all: a type switch written against the caller's own generated
// types compiles to cached type assertions, where the generic
// [WithStatusType] needs a run-time interface lookup per call, and the
// default rules a look at the message type (together with [WithSourceIDFunc],
// about 10 ns less per call than either in BENCHMARKS.md). For Milvus:
//
//	func milvusStatus(resp any) (failed, found bool) {
//		switch r := resp.(type) {
//		case *commonpb.Status:
//			return r.GetErrorCode() != 0 || r.GetCode() != 0, true
//		case interface{ GetStatus() *commonpb.Status }:
//			s := r.GetStatus()
//			return s.GetErrorCode() != 0 || s.GetCode() != 0, true
//		}
//		return false, false
//	}
//
// fn must be safe for concurrent use. It excludes [WithStatusType].
func WithStatusFunc(fn StatusFunc) Option {
	return optionFunc(func(c *config) {
		c.status = fn
		c.statusSets++
		c.nilStatusFunc = c.nilStatusFunc || fn == nil
	})
}
