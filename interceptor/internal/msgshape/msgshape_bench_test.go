package msgshape

import (
	"testing"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
)

var sinkBool bool

func BenchmarkStatusFailed(b *testing.B) {
	var s Cache
	var last Last
	resp := any(&milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{}})
	for b.Loop() {
		sinkBool = s.StatusFailed(&last, resp)
	}
}

func BenchmarkSourceID(b *testing.B) {
	var s Cache
	var last Last
	req := any(&milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: 3}})
	for b.Loop() {
		_, sinkBool = s.SourceID(&last, req)
	}
}

// BenchmarkStatusFailedProtoreflect reads the same response as
// BenchmarkStatusFailed through protoreflect alone, the path of messages
// without generated fields: the price of dropping the field-index path.
func BenchmarkStatusFailedProtoreflect(b *testing.B) {
	resp := any(&milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{}})
	for b.Loop() {
		sinkBool = protoStatusFailed(resp)
	}
}

// BenchmarkSourceIDProtoreflect is BenchmarkSourceID through protoreflect.
func BenchmarkSourceIDProtoreflect(b *testing.B) {
	req := any(&milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: 3}})
	for b.Loop() {
		_, sinkBool = protoSourceID(req)
	}
}
