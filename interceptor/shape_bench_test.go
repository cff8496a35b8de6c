package interceptor

import (
	"sync/atomic"
	"testing"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
)

var sinkBool bool

func BenchmarkStatusFailed(b *testing.B) {
	var s shapes
	var last atomic.Pointer[shape]
	resp := any(&milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{}})
	for b.Loop() {
		sinkBool = s.statusFailed(&last, resp)
	}
}

func BenchmarkSourceID(b *testing.B) {
	var s shapes
	var last atomic.Pointer[shape]
	req := any(&milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: 3}})
	for b.Loop() {
		_, sinkBool = s.sourceID(&last, req)
	}
}
