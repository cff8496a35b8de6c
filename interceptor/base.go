package interceptor

import (
	"reflect"
	"sync/atomic"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// BaseMessage is the method set of a Milvus MsgBase message, such as the
// generated Go type of milvus.proto.common.MsgBase.
type BaseMessage interface {
	comparable
	GetSourceID() int64
}

// WithBaseType makes the interceptor read the client's SourceID by type
// assertion alone: a request with a GetBase() B method gives
// GetBase().GetSourceID(), and a nil base gives the fallback label. Like
// [WithStatusType], it needs no reflection and serves types that are no
// protobuf messages:
//
//	interceptor.WithBaseType[*commonpb.MsgBase]()
//
// Requests without such a method fall back to the default rule (see [New]).
// [WithSourceIDFunc] does the same a little faster.
func WithBaseType[B BaseMessage]() Option {
	return optionFunc(func(c *config) {
		c.base = typedBase[B]
		c.baseSets++
	})
}

func typedBase[B BaseMessage](req any) (int64, bool) {
	r, ok := req.(interface{ GetBase() B })
	if !ok {
		return 0, false
	}
	var zero B
	b := r.GetBase()
	if b == zero {
		return 0, false
	}
	return b.GetSourceID(), true
}

// reflectBase is the default rule for SourceIDs. It finds, through the
// descriptors of protobuf requests, a singular message field "base" whose
// message has an integer field "sourceID" (Milvus's spelling) or
// "source_id", and reads it at struct offsets where the message type allows
// (see layout.go). The shape is cached per route.
type reflectBase struct {
	cache atomic.Pointer[baseShape]
}

type baseShape struct {
	goType reflect.Type // the Go type the shape was worked out for
	layout *baseLayout  // non-nil if goType is a generated struct
	desc   protoreflect.MessageDescriptor
	base   protoreflect.FieldDescriptor // nil if the request has no base
	source protoreflect.FieldDescriptor
}

func (d *reflectBase) sourceID(req any) (int64, bool) {
	t := reflect.TypeOf(req)
	sh := d.cache.Load()
	if sh != nil && sh.goType == t && sh.layout != nil {
		return sh.layout.sourceID(req)
	}
	if v := reflect.ValueOf(req); v.Kind() == reflect.Pointer && v.IsNil() {
		return 0, false // a typed nil, of any message API
	}
	m, ok := messageOf(req)
	if !ok {
		return 0, false
	}
	if m == nil || !m.IsValid() {
		return 0, false
	}
	if desc := m.Descriptor(); sh == nil || sh.desc != desc || sh.goType != t {
		sh = newBaseShape(desc)
		sh.goType, sh.layout = t, newBaseLayout(t, sh)
		d.cache.Store(sh)
	}
	if sh.base == nil || !m.Has(sh.base) {
		return 0, false
	}
	return m.Get(sh.base).Message().Get(sh.source).Int(), true
}

func newBaseShape(desc protoreflect.MessageDescriptor) *baseShape {
	sh := &baseShape{desc: desc}
	f := desc.Fields().ByName("base")
	if f == nil || f.Kind() != protoreflect.MessageKind || f.Cardinality() == protoreflect.Repeated {
		return sh
	}
	for _, name := range []protoreflect.Name{"sourceID", "source_id"} {
		s := f.Message().Fields().ByName(name)
		if s == nil || s.Cardinality() == protoreflect.Repeated {
			continue
		}
		switch s.Kind() {
		case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
			protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
			sh.base, sh.source = f, s
			return sh
		}
	}
	return sh
}

// SourceIDFunc returns the Milvus SourceID of a request; ok is false when the
// request has no MsgBase, and the default rule then has a look. See
// [WithSourceIDFunc].
type SourceIDFunc func(req any) (id int64, ok bool)

// WithSourceIDFunc makes the interceptor read SourceIDs with fn, the fastest
// path, for the same reason as [WithStatusFunc]. For Milvus:
//
//	func milvusSourceID(req any) (int64, bool) {
//		if r, ok := req.(interface{ GetBase() *commonpb.MsgBase }); ok && r.GetBase() != nil {
//			return r.GetBase().GetSourceID(), true
//		}
//		return 0, false
//	}
//
// fn must be safe for concurrent use. It excludes [WithBaseType].
func WithSourceIDFunc(fn SourceIDFunc) Option {
	return optionFunc(func(c *config) {
		c.base = fn
		c.baseSets++
		c.nilBaseFunc = c.nilBaseFunc || fn == nil
	})
}
