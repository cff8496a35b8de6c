package msgshape

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
)

// TestStatusCode checks that Status returns the status's code beside the
// verdict, for generated structs and through protoreflect alike.
func TestStatusCode(t *testing.T) {
	inField := func(st *commonpb.Status) proto.Message { return &milvuspb.BoolResponse{Status: st} }
	tests := []struct {
		name   string
		resp   any
		failed bool
		code   int64
	}{
		{"ok", &commonpb.Status{}, false, 0},
		{"error_code only", &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError}, true, 0},
		{"code 8", &commonpb.Status{Code: 8}, true, 8},
		{"both", &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError, Code: 109}, true, 109},
		{"in field", inField(&commonpb.Status{Code: 109}), true, 109},
		{"unset field", inField(nil), false, 0},
		{"no status", &milvuspb.DummyResponse{}, false, 0},
		{"nil", nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Cache
			var last Last
			failed, code := c.Status(&last, tt.resp)
			assert.Equal(t, tt.failed, failed)
			assert.Equal(t, tt.code, code)
			assert.Equal(t, tt.failed, c.StatusFailed(&last, tt.resp))
			if m, ok := tt.resp.(proto.Message); ok {
				failed, code := c.Status(&Last{}, dynamicCopy(t, m))
				assert.Equal(t, tt.failed, failed, "dynamicpb")
				assert.Equal(t, tt.code, code, "dynamicpb")
			}
		})
	}
}

// TestMessageName checks the full names of generated types, and that other
// types have none.
func TestMessageName(t *testing.T) {
	tests := []struct {
		v    any
		want protoreflect.FullName
	}{
		{&milvuspb.SearchRequest{}, "milvus.proto.milvus.SearchRequest"},
		{&commonpb.Status{}, "milvus.proto.common.Status"},
		{dynamicpb.NewMessage((&milvuspb.SearchRequest{}).ProtoReflect().Descriptor()), ""},
		{&struct{ DbName string }{}, ""},
		{"string", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, MessageName(reflect.TypeOf(tt.v)), "%T", tt.v)
	}
	assert.Equal(t, protoreflect.FullName(""), MessageName(nil))
}
