package contract

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// inputStatus returns a Milvus-style status of code, flagged as an input
// error as Milvus's merr.Status flags one (extra_info "is_input_error" set
// to "true"): a message named Status with code and extra_info, made at run
// time (dynamicpb), since the example protos' Status has no extra_info.
func inputStatus(code int32) (proto.Message, error) {
	entry := &descriptorpb.DescriptorProto{
		Name: proto.String("ExtraInfoEntry"),
		Field: []*descriptorpb.FieldDescriptorProto{
			{Name: proto.String("key"), Number: proto.Int32(1), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String("key")},
			{Name: proto.String("value"), Number: proto.Int32(2), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String("value")},
		},
		Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("grpcmetrics/contract/status.proto"),
		Package: proto.String("grpcmetrics.contract"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Status"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("code"), Number: proto.Int32(3), Type: descriptorpb.FieldDescriptorProto_TYPE_INT32.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String("code")},
				{Name: proto.String("extra_info"), Number: proto.Int32(5), Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum(), TypeName: proto.String(".grpcmetrics.contract.Status.ExtraInfoEntry"), JsonName: proto.String("extraInfo")},
			},
			NestedType: []*descriptorpb.DescriptorProto{entry},
		}},
	}, nil)
	if err != nil {
		return nil, err
	}
	md := fd.Messages().ByName("Status")
	st := dynamicpb.NewMessage(md)
	st.Set(md.Fields().ByName("code"), protoreflect.ValueOfInt32(code))
	extra := st.Mutable(md.Fields().ByName("extra_info")).Map()
	extra.Set(protoreflect.ValueOfString("is_input_error").MapKey(), protoreflect.ValueOfString("true"))
	return st, nil
}
