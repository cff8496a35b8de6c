package main

import (
	"context"
	"fmt"
	"time"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
)

// workload sends each client's share of a realistic mix: successes, failures
// reported through the Milvus status, failures as gRPC errors, and a few
// injected faults (including a handler panic that recovery turns into an
// error). Call errors are expected and not printed.
func workload(ctx context.Context, mc milvuspb.MilvusServiceClient, rc rootcoordpb.RootCoordClient) {
	for _, source := range []int64{1, 2} {
		base := &commonpb.MsgBase{SourceID: source}
		name := fmt.Sprintf("books_%d", source)
		calls := []func(context.Context) error{
			func(ctx context.Context) error { // success
				_, err := mc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: name})
				return err
			},
			func(ctx context.Context) error { // fail: already exists (status)
				_, err := mc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: name})
				return err
			},
			func(ctx context.Context) error { // fail: empty name (gRPC error)
				_, err := mc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base})
				return err
			},
			func(ctx context.Context) error { // success
				_, err := mc.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: base, CollectionName: name})
				return err
			},
			func(ctx context.Context) error { // fail: missing collection (status)
				_, err := mc.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{Base: base, CollectionName: "missing"})
				return err
			},
			func(ctx context.Context) error { // success, then fail through a panic
				if _, err := mc.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{Base: base, CollectionName: name}); err != nil {
					return err
				}
				_, err := mc.DescribeCollection(fault.AppendToOutgoingContext(ctx, fault.Panic), &milvuspb.DescribeCollectionRequest{Base: base, CollectionName: name})
				return err
			},
			func(ctx context.Context) error { // success
				_, err := rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: name})
				return err
			},
			func(ctx context.Context) error { // fail: already exists (status)
				_, err := rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: name})
				return err
			},
			func(ctx context.Context) error { // fail: non-zero code in the status
				_, err := rc.CreateCollection(fault.AppendToOutgoingContext(ctx, fault.Code), &milvuspb.CreateCollectionRequest{Base: base, CollectionName: name + "_x"})
				return err
			},
			func(ctx context.Context) error { // success, then fail: missing (status)
				if _, err := rc.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: base, CollectionName: name}); err != nil {
					return err
				}
				_, err := rc.DropCollection(ctx, &milvuspb.DropCollectionRequest{Base: base, CollectionName: "missing"})
				return err
			},
			func(ctx context.Context) error { // fail: gRPC error
				_, err := rc.ShowCollections(fault.AppendToOutgoingContext(ctx, fault.Error), &milvuspb.ShowCollectionsRequest{Base: base})
				return err
			},
		}
		for _, call := range calls {
			if ctx.Err() != nil {
				return
			}
			cctx, cancel := context.WithTimeout(withTenant(ctx, source), 5*time.Second)
			_ = call(cctx) //nolint:errcheck // failures are part of the mix; the counters show them
			cancel()
		}
	}
}
