package catalog

import (
	"context"
	"maps"
	"slices"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
)

// DefaultPartition is the partition every collection is created with.
const DefaultPartition = "_default"

// Catalog keeps collections and their partitions by name, in memory, and
// serves the methods that the example proxy and rootcoord have in common:
// those of collections, partitions and indexes. Create one with [New]; it is
// safe for concurrent use.
//
// Every method first injects the fault the call's metadata asks for
// ([fault.Handle]). Then an empty collection or partition name is a gRPC
// [codes.InvalidArgument] error, and an existing name to create or a missing
// one to use is a failing status ("already exists", "not found"). Indexes
// are not kept: the index methods only look the collection up, as
// [ForCollection] does.
type Catalog struct {
	mu     sync.Mutex
	lastID int64
	byName map[string]*collection
}

// collection is a stored collection: its ID and its partitions' IDs by name.
type collection struct {
	id         int64
	partitions map[string]int64
}

// New returns an empty catalog.
func New() *Catalog {
	return &Catalog{byName: make(map[string]*collection)}
}

// nextID returns a fresh object ID. c.mu must be held.
func (c *Catalog) nextID() int64 {
	c.lastID++
	return c.lastID
}

// in runs f on the named collection with c locked and returns what f
// returns. A missing collection is a failing status (CollectionNotExists)
// and an empty name an InvalidArgument error, without running f.
func (c *Catalog) in(name string, f func(*collection) *commonpb.Status) (*commonpb.Status, error) {
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, ok := c.byName[name]
	if !ok {
		return Failure(commonpb.ErrorCode_CollectionNotExists, "collection %s not found", name), nil
	}
	return f(coll), nil
}

// ForCollection answers a request that names a collection, through
// [fault.Handle], with a new Resp that carries only a status: successful if
// the collection exists, as for [Catalog]'s methods otherwise.
func ForCollection[Resp proto.Message](ctx context.Context, c *Catalog, req interface{ GetCollectionName() string }) (Resp, error) {
	return fault.Handle(ctx, func() (Resp, error) {
		st, err := c.in(req.GetCollectionName(), func(*collection) *commonpb.Status { return Success() })
		if err != nil {
			var zero Resp
			return zero, err
		}
		return reply[Resp](st)
	})
}

// Succeed answers a call, through [fault.Handle], with a new Resp that
// carries only a successful status.
func Succeed[Resp proto.Message](ctx context.Context) (Resp, error) {
	return fault.Handle(ctx, func() (Resp, error) { return reply[Resp](Success()) })
}

// reply returns a new Resp carrying st, or an Internal error if Resp has no
// Milvus status.
func reply[Resp proto.Message](st *commonpb.Status) (Resp, error) {
	resp, ok := fault.Reply[Resp](st)
	if !ok {
		return resp, status.Errorf(codes.Internal, "%T has no Milvus status", resp)
	}
	return resp, nil
}

// CreateCollection creates a collection with its default partition.
func (c *Catalog) CreateCollection(ctx context.Context, req *milvuspb.CreateCollectionRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, func() (*commonpb.Status, error) {
		name := req.GetCollectionName()
		if err := RequireName("collection", name); err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.byName[name]; ok {
			return Failure(commonpb.ErrorCode_UnexpectedError, "collection %s already exists", name), nil
		}
		c.byName[name] = &collection{id: c.nextID(), partitions: map[string]int64{DefaultPartition: c.nextID()}}
		return Success(), nil
	})
}

// DropCollection drops a collection.
func (c *Catalog) DropCollection(ctx context.Context, req *milvuspb.DropCollectionRequest) (*commonpb.Status, error) {
	return fault.Handle(ctx, func() (*commonpb.Status, error) {
		return c.in(req.GetCollectionName(), func(*collection) *commonpb.Status {
			delete(c.byName, req.GetCollectionName())
			return Success()
		})
	})
}

// HasCollection reports whether a collection exists.
func (c *Catalog) HasCollection(ctx context.Context, req *milvuspb.HasCollectionRequest) (*milvuspb.BoolResponse, error) {
	return fault.Handle(ctx, func() (*milvuspb.BoolResponse, error) {
		if err := RequireName("collection", req.GetCollectionName()); err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.byName[req.GetCollectionName()]
		return &milvuspb.BoolResponse{Status: Success(), Value: ok}, nil
	})
}

// DescribeCollection answers a collection's name and ID.
func (c *Catalog) DescribeCollection(ctx context.Context, req *milvuspb.DescribeCollectionRequest) (*milvuspb.DescribeCollectionResponse, error) {
	return fault.Handle(ctx, func() (*milvuspb.DescribeCollectionResponse, error) {
		resp := &milvuspb.DescribeCollectionResponse{CollectionName: req.GetCollectionName()}
		st, err := c.in(req.GetCollectionName(), func(coll *collection) *commonpb.Status {
			resp.CollectionID = coll.id
			return Success()
		})
		if err != nil {
			return nil, err
		}
		resp.Status = st
		return resp, nil
	})
}

// ShowCollections lists every collection, by name.
func (c *Catalog) ShowCollections(ctx context.Context, _ *milvuspb.ShowCollectionsRequest) (*milvuspb.ShowCollectionsResponse, error) {
	return fault.Handle(ctx, func() (*milvuspb.ShowCollectionsResponse, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		resp := &milvuspb.ShowCollectionsResponse{Status: Success()}
		for _, name := range slices.Sorted(maps.Keys(c.byName)) {
			resp.CollectionNames = append(resp.CollectionNames, name)
			resp.CollectionIds = append(resp.CollectionIds, c.byName[name].id)
		}
		return resp, nil
	})
}

// CreatePartition creates a partition in a collection.
func (c *Catalog) CreatePartition(ctx context.Context, req *milvuspb.CreatePartitionRequest) (*commonpb.Status, error) {
	return c.partition(ctx, req, func(coll *collection, name string) *commonpb.Status {
		if _, ok := coll.partitions[name]; ok {
			return Failure(commonpb.ErrorCode_UnexpectedError, "partition %s already exists in collection %s", name, req.GetCollectionName())
		}
		coll.partitions[name] = c.nextID()
		return Success()
	})
}

// DropPartition drops a partition of a collection.
func (c *Catalog) DropPartition(ctx context.Context, req *milvuspb.DropPartitionRequest) (*commonpb.Status, error) {
	return c.partition(ctx, req, func(coll *collection, name string) *commonpb.Status {
		if _, ok := coll.partitions[name]; !ok {
			return Failure(commonpb.ErrorCode_UnexpectedError, "partition %s not found in collection %s", name, req.GetCollectionName())
		}
		delete(coll.partitions, name)
		return Success()
	})
}

// partitionRequest is a request that names a partition of a collection.
type partitionRequest interface {
	GetCollectionName() string
	GetPartitionName() string
}

// partition runs f, through [fault.Handle], on the collection and the
// partition name that req names, as [Catalog.in] does; an empty partition
// name is an InvalidArgument error.
func (c *Catalog) partition(ctx context.Context, req partitionRequest, f func(coll *collection, name string) *commonpb.Status) (*commonpb.Status, error) {
	return fault.Handle(ctx, func() (*commonpb.Status, error) {
		if err := RequireName("partition", req.GetPartitionName()); err != nil {
			return nil, err
		}
		return c.in(req.GetCollectionName(), func(coll *collection) *commonpb.Status { return f(coll, req.GetPartitionName()) })
	})
}

// HasPartition reports whether a collection has a partition.
func (c *Catalog) HasPartition(ctx context.Context, req *milvuspb.HasPartitionRequest) (*milvuspb.BoolResponse, error) {
	resp := &milvuspb.BoolResponse{}
	st, err := c.partition(ctx, req, func(coll *collection, name string) *commonpb.Status {
		_, resp.Value = coll.partitions[name]
		return Success()
	})
	if err != nil {
		return nil, err
	}
	resp.Status = st
	return resp, nil
}

// ShowPartitions lists the partitions of a collection, by name.
func (c *Catalog) ShowPartitions(ctx context.Context, req *milvuspb.ShowPartitionsRequest) (*milvuspb.ShowPartitionsResponse, error) {
	return fault.Handle(ctx, func() (*milvuspb.ShowPartitionsResponse, error) {
		resp := &milvuspb.ShowPartitionsResponse{}
		st, err := c.in(req.GetCollectionName(), func(coll *collection) *commonpb.Status {
			resp.PartitionNames = slices.Sorted(maps.Keys(coll.partitions))
			for _, name := range resp.PartitionNames {
				resp.PartitionIDs = append(resp.PartitionIDs, coll.partitions[name])
			}
			return Success()
		})
		if err != nil {
			return nil, err
		}
		resp.Status = st
		return resp, nil
	})
}

// CreateIndex answers whether the collection exists; no index is kept.
func (c *Catalog) CreateIndex(ctx context.Context, req *milvuspb.CreateIndexRequest) (*commonpb.Status, error) {
	return ForCollection[*commonpb.Status](ctx, c, req)
}

// DescribeIndex answers whether the collection exists, with no index.
func (c *Catalog) DescribeIndex(ctx context.Context, req *milvuspb.DescribeIndexRequest) (*milvuspb.DescribeIndexResponse, error) {
	return ForCollection[*milvuspb.DescribeIndexResponse](ctx, c, req)
}

// DropIndex answers whether the collection exists.
func (c *Catalog) DropIndex(ctx context.Context, req *milvuspb.DropIndexRequest) (*commonpb.Status, error) {
	return ForCollection[*commonpb.Status](ctx, c, req)
}
