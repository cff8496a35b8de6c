package msgshape_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcmetrics/grpcmetrics/interceptor/internal/msgshape"
)

// Status and Response are APIv1-shaped messages (protobuf-go derives their
// descriptors from the struct tags, and the message's name from the Go
// type's); Status has Milvus's extra_info map, which says whether the
// request was at fault.
type (
	Status struct {
		ErrorCode int32             `protobuf:"varint,1,opt,name=error_code,json=errorCode,proto3"`
		Code      int32             `protobuf:"varint,3,opt,name=code,proto3"`
		ExtraInfo map[string]string `protobuf:"bytes,5,rep,name=extra_info,json=extraInfo,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3"`
	}
	Response struct {
		Status *Status `protobuf:"bytes,1,opt,name=status,proto3"`
	}
)

func (*Status) Reset()           {}
func (*Status) String() string   { return "Status" }
func (*Status) ProtoMessage()    {}
func (*Response) Reset()         {}
func (*Response) String() string { return "Response" }
func (*Response) ProtoMessage()  {}

// The status of an input error carries extra_info["is_input_error"] =
// "true"; InputError reads it from the Go field without allocating, and
// through protoreflect for a dynamicpb copy of the message.
func TestInputError(t *testing.T) {
	input := map[string]string{msgshape.InputErrorKey: "true"}
	tests := []struct {
		name string
		resp any
		want bool
	}{
		{"flagged", &Response{Status: &Status{Code: 1100, ExtraInfo: input}}, true},
		{"flag false", &Response{Status: &Status{Code: 1100, ExtraInfo: map[string]string{msgshape.InputErrorKey: "false"}}}, false},
		{"other keys", &Response{Status: &Status{Code: 1100, ExtraInfo: map[string]string{"x": "true"}}}, false},
		{"no extra_info", &Response{Status: &Status{Code: 1100}}, false},
		{"unset status", &Response{}, false},
		{"typed nil", (*Response)(nil), false},
		{"bare flagged status", &Status{Code: 1, ExtraInfo: input}, true},
		{"a success may carry it", &Status{ExtraInfo: input}, true},
		{"nil", nil, false},
	}
	var s msgshape.Cache
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var last msgshape.Last
			for range 2 { // the second call takes the cached shape
				require.Equal(t, tt.want, s.InputError(&last, tt.resp))
			}
			assert.Zero(t, testing.AllocsPerRun(100, func() { s.InputError(&last, tt.resp) }))
			if m, ok := tt.resp.(protoadapt.MessageV1); ok && !reflect.ValueOf(m).IsNil() {
				v2 := protoadapt.MessageV2Of(m)
				d := dynamicpb.NewMessage(v2.ProtoReflect().Descriptor())
				b, err := proto.Marshal(v2)
				require.NoError(t, err)
				require.NoError(t, proto.Unmarshal(b, d))
				var dlast msgshape.Last
				assert.Equal(t, tt.want, s.InputError(&dlast, d), "dynamicpb copy")
			}
		})
	}
}
