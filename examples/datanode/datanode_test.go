package datanode_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/grpcmetrics/grpcmetrics/examples/datanode"
	"github.com/grpcmetrics/grpcmetrics/examples/internal/servertest"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/datapb"
)

func TestFaults(t *testing.T) {
	conn := servertest.Start(t, datanode.New().NewGRPCServer(servertest.Recovery()))
	servertest.FaultMatrix(t, conn, "milvus.proto.data.DataNode")
}

func TestDataNode(t *testing.T) {
	c := datapb.NewDataNodeClient(servertest.Start(t, datanode.New().NewGRPCServer(servertest.Recovery())))
	servertest.RunSteps(t, []servertest.Step{
		{Name: "watch", Call: func(ctx context.Context) (proto.Message, error) {
			return c.WatchDmChannels(ctx, &datapb.WatchDmChannelsRequest{Vchannels: []string{"dml_0_1v0"}})
		}},
		{Name: "watch nothing", WantCode: codes.InvalidArgument, Call: func(ctx context.Context) (proto.Message, error) {
			return c.WatchDmChannels(ctx, &datapb.WatchDmChannelsRequest{})
		}},
		{Name: "flush", Call: func(ctx context.Context) (proto.Message, error) {
			return c.FlushSegments(ctx, &datapb.FlushSegmentsRequest{CollectionID: 1, SegmentIDs: []int64{10}})
		}},
	})
}
