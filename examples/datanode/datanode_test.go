package datanode_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/grpcmetrics/grpcmetrics/examples/datanode"
	"github.com/grpcmetrics/grpcmetrics/examples/internal/servertest"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/datapb"
)

func TestFaults(t *testing.T) {
	conn := servertest.Start(t, datanode.New().NewGRPCServer(servertest.Recovery()))
	servertest.FaultMatrix(t, conn, "milvus.proto.data.DataNode")
}

func TestDataNode(t *testing.T) {
	dn := datanode.New()
	c := datapb.NewDataNodeClient(servertest.Start(t, dn.NewGRPCServer(servertest.Recovery())))
	base := &commonpb.MsgBase{MsgType: commonpb.MsgType_WatchDmChannels, SourceID: 3}
	servertest.RunSteps(t, []servertest.Step{
		{Name: "watch", Call: func(ctx context.Context) (proto.Message, error) {
			return c.WatchDmChannels(ctx, &datapb.WatchDmChannelsRequest{Base: base, Vchannels: []string{"dml_0_1v0", "dml_1_1v1"}})
		}},
		{Name: "watch again", WantErrorCode: commonpb.ErrorCode_UnexpectedError, Call: func(ctx context.Context) (proto.Message, error) {
			return c.WatchDmChannels(ctx, &datapb.WatchDmChannelsRequest{Base: base, Vchannels: []string{"dml_0_1v0"}})
		}},
		{Name: "watch nothing", WantCode: codes.InvalidArgument, Call: func(ctx context.Context) (proto.Message, error) {
			return c.WatchDmChannels(ctx, &datapb.WatchDmChannelsRequest{Base: base})
		}},
		{Name: "flush", Call: func(ctx context.Context) (proto.Message, error) {
			return c.FlushSegments(ctx, &datapb.FlushSegmentsRequest{Base: base, CollectionID: 1, SegmentIDs: []int64{10, 11}})
		}},
		{Name: "flush again", WantErrorCode: commonpb.ErrorCode_UnexpectedError, Call: func(ctx context.Context) (proto.Message, error) {
			return c.FlushSegments(ctx, &datapb.FlushSegmentsRequest{Base: base, CollectionID: 1, SegmentIDs: []int64{11}})
		}},
		{Name: "flush no segments", WantErrorCode: commonpb.ErrorCode_IllegalArgument, Call: func(ctx context.Context) (proto.Message, error) {
			return c.FlushSegments(ctx, &datapb.FlushSegmentsRequest{Base: base, CollectionID: 1})
		}},
		{Name: "flush without collection", WantCode: codes.InvalidArgument, Call: func(ctx context.Context) (proto.Message, error) {
			return c.FlushSegments(ctx, &datapb.FlushSegmentsRequest{Base: base, SegmentIDs: []int64{12}})
		}},
	})
	assert.Equal(t, []string{"dml_0_1v0", "dml_1_1v1"}, dn.WatchedChannels())
}
