package fault

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
)

// MetadataKey is the gRPC metadata key that carries the requested [Mode].
const MetadataKey = "x-grpcmetrics-fault"

// FailingCode is the Status.code of the failing status answered for [Code].
const FailingCode int32 = 65535

// Mode is a fault a client asks the example servers to inject. The zero
// value, [None], asks for none.
type Mode string

// The fault modes. The string of each is its metadata value.
const (
	// None runs the handler normally.
	None Mode = ""
	// Error makes the handler return a gRPC error with [codes.Internal].
	Error Mode = "error"
	// Panic makes the handler panic.
	Panic Mode = "panic"
	// ErrorCode makes the handler answer a Milvus status with error_code
	// UnexpectedError and code 0.
	ErrorCode Mode = "error_code"
	// Code makes the handler answer a Milvus status with error_code Success
	// and code [FailingCode].
	Code Mode = "code"
)

// Modes returns every fault mode other than [None], in a new slice.
func Modes() []Mode {
	return []Mode{Error, Panic, ErrorCode, Code}
}

// Valid reports whether m is [None] or one of [Modes].
func (m Mode) Valid() bool {
	switch m {
	case None, Error, Panic, ErrorCode, Code:
		return true
	}
	return false
}

// String returns the metadata value of m, or "none" for [None].
func (m Mode) String() string {
	if m == None {
		return "none"
	}
	return string(m)
}

// Status returns a new copy of the failing Milvus status injected for m, or
// nil if m injects no status ([None], [Error], [Panic]).
func (m Mode) Status() *commonpb.Status {
	switch m {
	case ErrorCode:
		return &commonpb.Status{
			ErrorCode: commonpb.ErrorCode_UnexpectedError,
			Reason:    "injected fault: " + string(m),
		}
	case Code:
		return &commonpb.Status{
			ErrorCode: commonpb.ErrorCode_Success,
			Reason:    "injected fault: " + string(m),
			Code:      FailingCode,
		}
	}
	return nil
}

// AppendToOutgoingContext returns ctx with m added to its outgoing gRPC
// metadata under [MetadataKey], for a client call. [None] returns ctx as is.
func AppendToOutgoingContext(ctx context.Context, m Mode) context.Context {
	if m == None {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, MetadataKey, string(m))
}

// FromIncomingContext returns the mode of the incoming gRPC metadata of ctx,
// or [None] when there is none. When the key is repeated the first value
// counts. An unknown value is an error with [codes.InvalidArgument].
func FromIncomingContext(ctx context.Context) (Mode, error) {
	vals := metadata.ValueFromIncomingContext(ctx, MetadataKey)
	if len(vals) == 0 {
		return None, nil
	}
	m := Mode(vals[0])
	if !m.Valid() {
		return None, status.Errorf(codes.InvalidArgument, "unknown %s value %q", MetadataKey, vals[0])
	}
	return m, nil
}

// Handle runs handler unless the incoming metadata of ctx asks for a fault,
// in which case it injects the fault instead, as described in the package
// documentation. Resp is the handler's generated response type: either
// [commonpb.Status] itself or a message with a "status" field of that type.
func Handle[Resp proto.Message](ctx context.Context, handler func() (Resp, error)) (Resp, error) {
	var zero Resp
	m, err := FromIncomingContext(ctx)
	if err != nil {
		return zero, err
	}
	switch m {
	case Error:
		return zero, status.Errorf(codes.Internal, "injected fault: %s", m)
	case Panic:
		panic(fmt.Sprintf("injected fault: %s", m))
	case ErrorCode, Code:
		if resp, ok := Reply[Resp](m.Status()); ok {
			return resp, nil
		}
	}
	return handler()
}

// Reply returns a new Resp that carries st: st itself if Resp is
// *[commonpb.Status], else a new message with st in its "status" field. It
// reports false if Resp has no such field (DummyResponse, for one).
func Reply[Resp proto.Message](st *commonpb.Status) (Resp, bool) {
	var zero Resp
	if resp, ok := any(st).(Resp); ok {
		return resp, true
	}
	msg := zero.ProtoReflect().Type().New()
	f := msg.Descriptor().Fields().ByName("status")
	statusDesc := st.ProtoReflect().Descriptor()
	if f == nil || f.Message() == nil || f.Message().FullName() != statusDesc.FullName() || f.IsList() || f.IsMap() {
		return zero, false
	}
	msg.Set(f, protoreflect.ValueOfMessage(st.ProtoReflect()))
	resp, ok := msg.Interface().(Resp)
	return resp, ok
}
