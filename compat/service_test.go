package compat

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
)

// blockBody in a request's payload makes the handler wait, after sending
// whatever else the request asks for, until the call ends: see block.
const blockBody = "block"

// block waits for the end of a call whose handler has nothing more to do:
// for its context to end. Without a deadline the client cancels, and it
// returns the context's error, Canceled. With a deadline it returns
// context.DeadlineExceeded, as a handler whose work runs out of time does:
// the context's own error there depends on whether the server's deadline
// timer or the client's RST_STREAM comes first, which is Canceled or
// DeadlineExceeded from one run to the next (and always Canceled for the
// deadline of an expiring.Context, which the server's timer never reaches).
func block(ctx context.Context) error {
	<-ctx.Done()
	if _, ok := ctx.Deadline(); ok {
		return context.DeadlineExceeded
	}
	return ctx.Err()
}

// missingCollection makes DescribeCollection answer code OK with a failing
// Milvus status in the body.
const missingCollection = "missing"

// testService is a deterministic grpc.testing.TestService: EmptyCall
// panics, and so does HalfDuplexCall after its first message; UnaryCall answers with the requested status; the streams send
// the requested responses and end with the requested status; a payload of
// [blockBody] waits for the context to end. UnimplementedCall is left
// unimplemented.
type testService struct {
	testpb.UnimplementedTestServiceServer
}

func (testService) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	panic("EmptyCall panics on purpose")
}

func (testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if blocks(req.GetPayload()) {
		return nil, block(ctx)
	}
	if err := echoStatus(req.GetResponseStatus()); err != nil {
		return nil, err
	}
	return &testpb.SimpleResponse{}, nil
}

func (testService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	for range req.GetResponseParameters() {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	if blocks(req.GetPayload()) {
		return block(stream.Context())
	}
	return echoStatus(req.GetResponseStatus())
}

func (testService) StreamingInputCall(stream grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	var size int32
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: size})
		}
		if err != nil {
			return err
		}
		if body := string(req.GetPayload().GetBody()); body != "" && body != blockBody {
			return status.Error(codes.InvalidArgument, "payload "+body)
		}
		size += int32(len(req.GetPayload().GetBody()))
	}
}

func (testService) FullDuplexCall(stream grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for range req.GetResponseParameters() {
			if err := stream.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
				return err
			}
		}
		if err := echoStatus(req.GetResponseStatus()); err != nil {
			return err
		}
	}
}

func blocks(p *testpb.Payload) bool { return string(p.GetBody()) == blockBody }

// echoStatus returns the error that s asks for, nil for none or OK.
func echoStatus(s *testpb.EchoStatus) error {
	if s.GetCode() == 0 {
		return nil
	}
	return status.Error(codes.Code(s.GetCode()), s.GetMessage())
}

// milvusService answers DescribeCollection with code OK, and a failing
// Milvus status in the body for [missingCollection]; its other methods are
// unimplemented.
type milvusService struct {
	milvuspb.UnimplementedMilvusServiceServer
}

func (milvusService) DescribeCollection(_ context.Context, req *milvuspb.DescribeCollectionRequest) (*milvuspb.DescribeCollectionResponse, error) {
	if req.GetCollectionName() == missingCollection {
		return &milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{
			ErrorCode: commonpb.ErrorCode_CollectionNotExists, Reason: "collection not found",
		}}, nil
	}
	return &milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{}, CollectionName: req.GetCollectionName()}, nil
}

func (testService) HalfDuplexCall(stream grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	if _, err := stream.Recv(); err != nil {
		return err
	}
	panic("HalfDuplexCall panics on purpose after its first message")
}
