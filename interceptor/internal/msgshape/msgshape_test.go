package msgshape

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
)

// dynamicCopy returns m as a dynamicpb message, which has no Go struct, so
// the default rules read it through protoreflect alone.
func dynamicCopy(t testing.TB, m proto.Message) proto.Message {
	t.Helper()
	d := dynamicpb.NewMessage(m.ProtoReflect().Descriptor())
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, proto.Unmarshal(b, d))
	return d
}

// TestShapes checks how each kind of type is read: generated structs by
// field index, messages without generated fields through protoreflect,
// everything else not at all.
func TestShapes(t *testing.T) {
	tests := []struct {
		name         string
		v            any
		status, base how
	}{
		{"response with status", &milvuspb.DescribeCollectionResponse{}, inField, absent},
		{"request with base", &milvuspb.DescribeCollectionRequest{}, absent, inField},
		{"bare status", &commonpb.Status{}, itself, absent},
		{"google.rpc.Status", &spb.Status{}, itself, absent},
		{"no status", &milvuspb.DummyResponse{}, absent, absent},
		{"wrapper", wrapperspb.String("x"), absent, absent},
		{"dynamicpb", dynamicpb.NewMessage((&milvuspb.DescribeCollectionResponse{}).ProtoReflect().Descriptor()), protoRead, protoRead},
		{"APIv1 response", &v1Response{}, inField, absent},
		{"APIv1 request", &v1Request{}, absent, inField},
		{"no message", &struct{ Status *commonpb.Status }{}, absent, absent},
		{"not a pointer", "string", absent, absent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := newShape(reflect.TypeOf(tt.v))
			assert.Equal(t, tt.status, sh.status.how, "status")
			assert.Equal(t, tt.base, sh.source.how, "base")
		})
	}
}

// FuzzShapesAgreeWithProtoreflect decodes fuzz bytes into generated
// messages and checks that reading them by field index gives what
// protoreflect gives for the same message as a dynamicpb copy.
func FuzzShapesAgreeWithProtoreflect(f *testing.F) {
	for _, m := range []proto.Message{
		&milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{ErrorCode: 4, Code: 9}},
		&commonpb.Status{Code: -1},
		&spb.Status{Code: 5, Message: "x"},
		&milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: -7}},
	} {
		b, err := proto.Marshal(m)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte{})
	var s Cache
	var last Last
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []proto.Message{&milvuspb.DescribeCollectionResponse{}, &commonpb.Status{}, &spb.Status{}} {
			if proto.Unmarshal(b, m) != nil {
				continue
			}
			got := s.StatusFailed(&last, m)
			want := s.StatusFailed(&last, dynamicCopy(t, m))
			require.Equal(t, want, got, "%T %v", m, m)
			require.Equal(t, want, protoStatusFailed(m), "%T %v", m, m)
		}
		req := &milvuspb.DescribeCollectionRequest{}
		if proto.Unmarshal(b, req) != nil {
			return
		}
		gotID, gotOK := s.SourceID(&last, req)
		wantID, wantOK := s.SourceID(&last, dynamicCopy(t, req))
		require.Equal(t, [2]any{wantID, wantOK}, [2]any{gotID, gotOK}, "%v", req)
	})
}

// Messages as the old APIv1 generators (protoc-gen-go before 1.4, which
// Milvus used) wrote them: tagged structs with Reset, String and
// ProtoMessage, and no ProtoReflect. protobuf-go derives their descriptors
// from the tags. The names matter: the default rule looks for a message
// named Status.
type (
	ErrorCode int32

	Status struct {
		ErrorCode ErrorCode `protobuf:"varint,1,opt,name=error_code,json=errorCode,proto3,enum=common.ErrorCode"`
		Reason    string    `protobuf:"bytes,2,opt,name=reason,proto3"`
		Code      int32     `protobuf:"varint,3,opt,name=code,proto3"`
	}

	MsgBase struct {
		MsgType  int32 `protobuf:"varint,1,opt,name=msg_type,json=msgType,proto3"`
		SourceID int64 `protobuf:"varint,4,opt,name=sourceID,proto3"`
	}

	v1Response struct {
		Status *Status `protobuf:"bytes,1,opt,name=status,proto3"`
		Name   string  `protobuf:"bytes,2,opt,name=name,proto3"`
	}

	v1Request struct {
		Base *MsgBase `protobuf:"bytes,1,opt,name=base,proto3"`
		Name string   `protobuf:"bytes,2,opt,name=name,proto3"`
	}
)

func (e ErrorCode) String() string { return "ErrorCode" }

func (*Status) Reset()             {}
func (*Status) String() string     { return "Status" }
func (*Status) ProtoMessage()      {}
func (*MsgBase) Reset()            {}
func (*MsgBase) String() string    { return "MsgBase" }
func (*MsgBase) ProtoMessage()     {}
func (*v1Response) Reset()         {}
func (*v1Response) String() string { return "v1Response" }
func (*v1Response) ProtoMessage()  {}
func (*v1Request) Reset()          {}
func (*v1Request) String() string  { return "v1Request" }
func (*v1Request) ProtoMessage()   {}

func TestLegacyAPIv1Messages(t *testing.T) {
	statuses := []struct {
		name     string
		resp     any
		wantFail bool
	}{
		{"status ok", &v1Response{Status: &Status{}}, false},
		{"error_code", &v1Response{Status: &Status{ErrorCode: 3}}, true},
		{"code", &v1Response{Status: &Status{Code: 5}}, true},
		{"unset status", &v1Response{}, false},
		{"typed nil", (*v1Response)(nil), false},
		{"bare status fail", &Status{Code: 1}, true},
		{"bare status ok", &Status{}, false},
	}
	var s Cache
	for _, tt := range statuses {
		t.Run(tt.name, func(t *testing.T) {
			var last Last
			for range 2 { // the second call takes the cached shape
				require.Equal(t, tt.wantFail, s.StatusFailed(&last, tt.resp))
			}
			assert.Zero(t, testing.AllocsPerRun(100, func() { s.StatusFailed(&last, tt.resp) }))
		})
	}
	bases := []struct {
		name   string
		req    any
		wantID int64
		wantOK bool
	}{
		{"base", &v1Request{Base: &MsgBase{SourceID: 9}}, 9, true},
		{"no base", &v1Request{}, 0, false},
		{"typed nil", (*v1Request)(nil), 0, false},
	}
	for _, tt := range bases {
		t.Run(tt.name, func(t *testing.T) {
			var last Last
			for range 2 {
				id, ok := s.SourceID(&last, tt.req)
				require.Equal(t, tt.wantID, id)
				require.Equal(t, tt.wantOK, ok)
			}
			assert.Zero(t, testing.AllocsPerRun(100, func() { s.SourceID(&last, tt.req) }))
		})
	}
}

// corruptDescriptor is an APIv1-shaped message whose Descriptor method, which
// generated APIv1 code has, returns bytes that are no gzipped descriptor:
// protobuf-go panics when it loads the type.
type corruptDescriptor struct {
	X int32 `protobuf:"varint,1,opt,name=x,proto3"`
}

func (*corruptDescriptor) Reset()                      {}
func (*corruptDescriptor) String() string              { return "corruptDescriptor" }
func (*corruptDescriptor) ProtoMessage()               {}
func (*corruptDescriptor) Descriptor() ([]byte, []int) { return []byte("not gzip"), []int{0} }

func TestUnloadableLegacyMessageIsNoMessage(t *testing.T) {
	var s Cache
	var last Last
	require.NotPanics(t, func() {
		assert.False(t, s.StatusFailed(&last, &corruptDescriptor{X: 1}))
		_, ok := s.SourceID(&last, &corruptDescriptor{X: 1})
		assert.False(t, ok)
	})
}
