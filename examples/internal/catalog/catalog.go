package catalog

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
)

// DefaultPartition is the partition every collection is created with, and
// the one rows go to when a request names no partition.
const DefaultPartition = "_default"

// Catalog is a concurrency-safe in-memory store of collections. The zero
// value is not usable; create one with [New].
type Catalog struct {
	mu     sync.Mutex
	now    func() time.Time
	lastID int64
	lastTS uint64
	byName map[string]*collection
}

type collection struct {
	id         int64
	name       string
	schema     []byte
	shards     int32
	created    uint64
	loaded     bool
	partitions map[string]*partition
	indexes    map[string]*index // by index name
}

type partition struct {
	id       int64
	name     string
	created  uint64
	loaded   bool
	segments []*segment
}

type segment struct {
	id    int64
	rows  int64
	state commonpb.SegmentState
}

type index struct {
	id     int64
	name   string
	field  string
	params []*commonpb.KeyValuePair
}

// New returns an empty catalog.
func New() *Catalog {
	return &Catalog{now: time.Now, byName: make(map[string]*collection)}
}

// nextID returns a fresh object ID. c.mu must be held.
func (c *Catalog) nextID() int64 {
	c.lastID++
	return c.lastID
}

// nextTS returns a fresh, increasing Milvus hybrid timestamp (physical
// milliseconds above 18 logical bits). c.mu must be held.
func (c *Catalog) nextTS() uint64 {
	ts := uint64(c.now().UnixMilli()) << 18
	if ts <= c.lastTS {
		ts = c.lastTS + 1
	}
	c.lastTS = ts
	return ts
}

// lookup returns the named collection or a failing status. c.mu must be held.
func (c *Catalog) lookup(name string) (*collection, *commonpb.Status) {
	coll, ok := c.byName[name]
	if !ok {
		return nil, Failure(commonpb.ErrorCode_CollectionNotExists, "collection %s not found", name)
	}
	return coll, nil
}

// lookupPartition returns the named partition of coll or a failing status.
func lookupPartition(coll *collection, name string) (*partition, *commonpb.Status) {
	p, ok := coll.partitions[name]
	if !ok {
		return nil, Failure(commonpb.ErrorCode_UnexpectedError, "partition %s not found in collection %s", name, coll.name)
	}
	return p, nil
}

// rows returns the number of rows in p.
func (p *partition) rows() int64 {
	var n int64
	for _, s := range p.segments {
		n += s.rows
	}
	return n
}

// rows returns the number of rows in coll.
func (coll *collection) rows() int64 {
	var n int64
	for _, p := range coll.partitions {
		n += p.rows()
	}
	return n
}

// sortedPartitions returns the partitions of coll in creation order.
func (coll *collection) sortedPartitions() []*partition {
	ps := make([]*partition, 0, len(coll.partitions))
	for _, p := range coll.partitions {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *partition) int { return cmp.Compare(a.id, b.id) })
	return ps
}

// rowCount returns Milvus's statistics list for n rows.
func rowCount(n int64) []*commonpb.KeyValuePair {
	return []*commonpb.KeyValuePair{{Key: "row_count", Value: strconv.FormatInt(n, 10)}}
}

// CreateCollection adds a collection with its default partition. An existing
// name is a failing status.
func (c *Catalog) CreateCollection(req *milvuspb.CreateCollectionRequest) (*commonpb.Status, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byName[name]; ok {
		return Failure(commonpb.ErrorCode_UnexpectedError, "collection %s already exists", name), nil
	}
	ts := c.nextTS()
	coll := &collection{
		id:         c.nextID(),
		name:       name,
		schema:     slices.Clone(req.GetSchema()),
		shards:     max(req.GetShardsNum(), 1),
		created:    ts,
		partitions: make(map[string]*partition),
		indexes:    make(map[string]*index),
	}
	coll.partitions[DefaultPartition] = &partition{id: c.nextID(), name: DefaultPartition, created: ts}
	c.byName[name] = coll
	return Success(), nil
}

// DropCollection removes a collection.
func (c *Catalog) DropCollection(req *milvuspb.DropCollectionRequest) (*commonpb.Status, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, st := c.lookup(name); st != nil {
		return st, nil
	}
	delete(c.byName, name)
	return Success(), nil
}

// HasCollection reports whether a collection exists.
func (c *Catalog) HasCollection(req *milvuspb.HasCollectionRequest) (*milvuspb.BoolResponse, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.byName[name]
	return &milvuspb.BoolResponse{Status: Success(), Value: ok}, nil
}

// LoadCollection marks a collection and all its partitions as loaded.
func (c *Catalog) LoadCollection(req *milvuspb.LoadCollectionRequest) (*commonpb.Status, error) {
	return c.setLoaded(req.GetCollectionName(), nil, true)
}

// ReleaseCollection marks a collection and all its partitions as released.
func (c *Catalog) ReleaseCollection(req *milvuspb.ReleaseCollectionRequest) (*commonpb.Status, error) {
	return c.setLoaded(req.GetCollectionName(), nil, false)
}

// LoadPartitions marks partitions of a collection as loaded.
func (c *Catalog) LoadPartitions(req *milvuspb.LoadPartitionsRequest) (*commonpb.Status, error) {
	return c.setLoaded(req.GetCollectionName(), req.GetPartitionNames(), true)
}

// ReleasePartitions marks partitions of a collection as released.
func (c *Catalog) ReleasePartitions(req *milvuspb.ReleasePartitionsRequest) (*commonpb.Status, error) {
	return c.setLoaded(req.GetCollectionName(), req.GetPartitionNames(), false)
}

// setLoaded loads or releases the named partitions of a collection, or the
// whole collection when partitions is nil.
func (c *Catalog) setLoaded(name string, partitions []string, loaded bool) (*commonpb.Status, error) {
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	if partitions != nil && len(partitions) == 0 {
		return Failure(commonpb.ErrorCode_IllegalArgument, "no partition names given for collection %s", name), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return st, nil
	}
	if partitions == nil {
		coll.loaded = loaded
		for _, p := range coll.partitions {
			p.loaded = loaded
		}
		return Success(), nil
	}
	ps := make([]*partition, 0, len(partitions))
	for _, pn := range partitions {
		p, st := lookupPartition(coll, pn)
		if st != nil {
			return st, nil
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		p.loaded = loaded
	}
	if !loaded {
		coll.loaded = false
	}
	return Success(), nil
}

// DescribeCollection describes a collection.
func (c *Catalog) DescribeCollection(req *milvuspb.DescribeCollectionRequest) (*milvuspb.DescribeCollectionResponse, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return &milvuspb.DescribeCollectionResponse{Status: st}, nil
	}
	return &milvuspb.DescribeCollectionResponse{
		Status:           Success(),
		Schema:           slices.Clone(coll.schema),
		CollectionID:     coll.id,
		ShardsNum:        coll.shards,
		CreatedTimestamp: coll.created,
		CollectionName:   coll.name,
	}, nil
}

// GetCollectionStatistics returns the row count of a collection.
func (c *Catalog) GetCollectionStatistics(req *milvuspb.GetCollectionStatisticsRequest) (*milvuspb.GetCollectionStatisticsResponse, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return &milvuspb.GetCollectionStatisticsResponse{Status: st}, nil
	}
	return &milvuspb.GetCollectionStatisticsResponse{Status: Success(), Stats: rowCount(coll.rows())}, nil
}

// ShowCollections lists the collections in creation order, or only the named
// ones if the request names any (a missing one is a failing status).
func (c *Catalog) ShowCollections(req *milvuspb.ShowCollectionsRequest) (*milvuspb.ShowCollectionsResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var colls []*collection
	if names := req.GetCollectionNames(); len(names) > 0 {
		for _, n := range names {
			coll, st := c.lookup(n)
			if st != nil {
				return &milvuspb.ShowCollectionsResponse{Status: st}, nil
			}
			colls = append(colls, coll)
		}
	} else {
		for _, coll := range c.byName {
			colls = append(colls, coll)
		}
		slices.SortFunc(colls, func(a, b *collection) int { return cmp.Compare(a.id, b.id) })
	}
	resp := &milvuspb.ShowCollectionsResponse{Status: Success()}
	for _, coll := range colls {
		resp.CollectionNames = append(resp.CollectionNames, coll.name)
		resp.CollectionIds = append(resp.CollectionIds, coll.id)
		resp.CreatedTimestamps = append(resp.CreatedTimestamps, coll.created)
	}
	return resp, nil
}

// CreatePartition adds a partition to a collection.
func (c *Catalog) CreatePartition(req *milvuspb.CreatePartitionRequest) (*commonpb.Status, error) {
	name, pname := req.GetCollectionName(), req.GetPartitionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	if err := RequireName("partition", pname); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return st, nil
	}
	if _, ok := coll.partitions[pname]; ok {
		return Failure(commonpb.ErrorCode_UnexpectedError, "partition %s already exists in collection %s", pname, name), nil
	}
	coll.partitions[pname] = &partition{id: c.nextID(), name: pname, created: c.nextTS()}
	return Success(), nil
}

// DropPartition removes a partition other than the default one.
func (c *Catalog) DropPartition(req *milvuspb.DropPartitionRequest) (*commonpb.Status, error) {
	name, pname := req.GetCollectionName(), req.GetPartitionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	if err := RequireName("partition", pname); err != nil {
		return nil, err
	}
	if pname == DefaultPartition {
		return Failure(commonpb.ErrorCode_UnexpectedError, "the default partition cannot be dropped"), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return st, nil
	}
	if _, st := lookupPartition(coll, pname); st != nil {
		return st, nil
	}
	delete(coll.partitions, pname)
	return Success(), nil
}

// HasPartition reports whether a collection has a partition; a missing
// collection is a failing status.
func (c *Catalog) HasPartition(req *milvuspb.HasPartitionRequest) (*milvuspb.BoolResponse, error) {
	name, pname := req.GetCollectionName(), req.GetPartitionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	if err := RequireName("partition", pname); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return &milvuspb.BoolResponse{Status: st}, nil
	}
	_, ok := coll.partitions[pname]
	return &milvuspb.BoolResponse{Status: Success(), Value: ok}, nil
}

// GetPartitionStatistics returns the row count of a partition.
func (c *Catalog) GetPartitionStatistics(req *milvuspb.GetPartitionStatisticsRequest) (*milvuspb.GetPartitionStatisticsResponse, error) {
	name, pname := req.GetCollectionName(), req.GetPartitionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	if err := RequireName("partition", pname); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return &milvuspb.GetPartitionStatisticsResponse{Status: st}, nil
	}
	p, st := lookupPartition(coll, pname)
	if st != nil {
		return &milvuspb.GetPartitionStatisticsResponse{Status: st}, nil
	}
	return &milvuspb.GetPartitionStatisticsResponse{Status: Success(), Stats: rowCount(p.rows())}, nil
}

// ShowPartitions lists the partitions of a collection in creation order.
func (c *Catalog) ShowPartitions(req *milvuspb.ShowPartitionsRequest) (*milvuspb.ShowPartitionsResponse, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return &milvuspb.ShowPartitionsResponse{Status: st}, nil
	}
	resp := &milvuspb.ShowPartitionsResponse{Status: Success()}
	for _, p := range coll.sortedPartitions() {
		if want := req.GetPartitionNames(); len(want) > 0 && !slices.Contains(want, p.name) {
			continue
		}
		resp.PartitionNames = append(resp.PartitionNames, p.name)
		resp.PartitionIDs = append(resp.PartitionIDs, p.id)
		resp.CreatedTimestamps = append(resp.CreatedTimestamps, p.created)
	}
	return resp, nil
}

// indexRequest is what the index requests have in common.
type indexRequest interface {
	GetCollectionName() string
	GetFieldName() string
	GetIndexName() string
}

// findIndex returns the index of coll that req names (by index name, or by
// field when the index name is empty), or a failing status.
func findIndex(coll *collection, req indexRequest) (*index, *commonpb.Status) {
	for _, ix := range coll.indexes {
		if (req.GetIndexName() == "" || ix.name == req.GetIndexName()) &&
			(req.GetFieldName() == "" || ix.field == req.GetFieldName()) {
			return ix, nil
		}
	}
	return nil, Failure(commonpb.ErrorCode_IndexNotExist, "index %q (field %q) not found in collection %s",
		req.GetIndexName(), req.GetFieldName(), coll.name)
}

// CreateIndex adds an index on a field; an index name defaults to the field
// name. A second index of the same name is a failing status.
func (c *Catalog) CreateIndex(req *milvuspb.CreateIndexRequest) (*commonpb.Status, error) {
	name, field := req.GetCollectionName(), req.GetFieldName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	if err := RequireName("field", field); err != nil {
		return nil, err
	}
	iname := req.GetIndexName()
	if iname == "" {
		iname = field
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return st, nil
	}
	if _, ok := coll.indexes[iname]; ok {
		return Failure(commonpb.ErrorCode_UnexpectedError, "index %s already exists in collection %s", iname, name), nil
	}
	params := make([]*commonpb.KeyValuePair, 0, len(req.GetExtraParams()))
	for _, kv := range req.GetExtraParams() {
		params = append(params, &commonpb.KeyValuePair{Key: kv.GetKey(), Value: kv.GetValue()})
	}
	coll.indexes[iname] = &index{id: c.nextID(), name: iname, field: field, params: params}
	return Success(), nil
}

// DescribeIndex describes the indexes of a collection that match the
// request's index and field names (all of them when both are empty).
func (c *Catalog) DescribeIndex(req *milvuspb.DescribeIndexRequest) (*milvuspb.DescribeIndexResponse, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return &milvuspb.DescribeIndexResponse{Status: st}, nil
	}
	resp := &milvuspb.DescribeIndexResponse{Status: Success()}
	for _, ix := range coll.indexes {
		if (req.GetIndexName() != "" && ix.name != req.GetIndexName()) ||
			(req.GetFieldName() != "" && ix.field != req.GetFieldName()) {
			continue
		}
		params := make([]*commonpb.KeyValuePair, 0, len(ix.params))
		for _, kv := range ix.params {
			params = append(params, &commonpb.KeyValuePair{Key: kv.GetKey(), Value: kv.GetValue()})
		}
		resp.IndexDescriptions = append(resp.IndexDescriptions, &milvuspb.IndexDescription{
			IndexName: ix.name, IndexID: ix.id, Params: params, FieldName: ix.field,
		})
	}
	if len(resp.IndexDescriptions) == 0 {
		_, st := findIndex(coll, req)
		return &milvuspb.DescribeIndexResponse{Status: st}, nil
	}
	slices.SortFunc(resp.IndexDescriptions, func(a, b *milvuspb.IndexDescription) int {
		return cmp.Compare(a.GetIndexID(), b.GetIndexID())
	})
	return resp, nil
}

// GetIndexState reports an index as built: the example builds instantly.
func (c *Catalog) GetIndexState(req *milvuspb.GetIndexStateRequest) (*milvuspb.GetIndexStateResponse, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return &milvuspb.GetIndexStateResponse{Status: st}, nil
	}
	if _, st := findIndex(coll, req); st != nil {
		return &milvuspb.GetIndexStateResponse{Status: st, State: commonpb.IndexState_IndexStateNone}, nil
	}
	return &milvuspb.GetIndexStateResponse{Status: Success(), State: commonpb.IndexState_Finished}, nil
}

// GetIndexBuildProgress reports every row of the collection as indexed.
func (c *Catalog) GetIndexBuildProgress(req *milvuspb.GetIndexBuildProgressRequest) (*milvuspb.GetIndexBuildProgressResponse, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return &milvuspb.GetIndexBuildProgressResponse{Status: st}, nil
	}
	if _, st := findIndex(coll, req); st != nil {
		return &milvuspb.GetIndexBuildProgressResponse{Status: st}, nil
	}
	n := coll.rows()
	return &milvuspb.GetIndexBuildProgressResponse{Status: Success(), IndexedRows: n, TotalRows: n}, nil
}

// DropIndex removes the index the request names.
func (c *Catalog) DropIndex(req *milvuspb.DropIndexRequest) (*commonpb.Status, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return st, nil
	}
	ix, st := findIndex(coll, req)
	if st != nil {
		return st, nil
	}
	delete(coll.indexes, ix.name)
	return Success(), nil
}

// Insert appends rows to the growing segment of a partition (the default one
// when none is named), opening a segment if needed.
func (c *Catalog) Insert(req *milvuspb.InsertRequest) (*milvuspb.MutationResult, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	if req.GetNumRows() == 0 {
		return &milvuspb.MutationResult{
			Status: Failure(commonpb.ErrorCode_IllegalArgument, "insert into collection %s has no rows", name),
		}, nil
	}
	pname := req.GetPartitionName()
	if pname == "" {
		pname = DefaultPartition
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return &milvuspb.MutationResult{Status: st}, nil
	}
	p, st := lookupPartition(coll, pname)
	if st != nil {
		return &milvuspb.MutationResult{Status: st}, nil
	}
	var seg *segment
	if n := len(p.segments); n > 0 && p.segments[n-1].state == commonpb.SegmentState_Growing {
		seg = p.segments[n-1]
	} else {
		seg = &segment{id: c.nextID(), state: commonpb.SegmentState_Growing}
		p.segments = append(p.segments, seg)
	}
	seg.rows += int64(req.GetNumRows())
	return &milvuspb.MutationResult{Status: Success(), InsertCnt: int64(req.GetNumRows()), Timestamp: c.nextTS()}, nil
}

// Flush seals and flushes the growing segments of the named collections.
func (c *Catalog) Flush(req *milvuspb.FlushRequest) (*milvuspb.FlushResponse, error) {
	names := req.GetCollectionNames()
	if len(names) == 0 {
		return nil, RequireName("collection", "")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	colls := make([]*collection, 0, len(names))
	for _, n := range names {
		coll, st := c.lookup(n)
		if st != nil {
			return &milvuspb.FlushResponse{Status: st, DbName: req.GetDbName()}, nil
		}
		colls = append(colls, coll)
	}
	for _, coll := range colls {
		for _, p := range coll.partitions {
			for _, s := range p.segments {
				if s.state == commonpb.SegmentState_Growing {
					s.state = commonpb.SegmentState_Flushed
				}
			}
		}
	}
	return &milvuspb.FlushResponse{Status: Success(), DbName: req.GetDbName(), CollectionNames: slices.Clone(names)}, nil
}

// loadedCollection returns a collection that has at least one loaded
// partition, or a failing status. c.mu must be held.
func (c *Catalog) loadedCollection(name string) (*collection, *commonpb.Status) {
	coll, st := c.lookup(name)
	if st != nil {
		return nil, st
	}
	for _, p := range coll.partitions {
		if p.loaded {
			return coll, nil
		}
	}
	return nil, Failure(commonpb.ErrorCode_UnexpectedError, "collection %s is not loaded", name)
}

// Search answers a search over a loaded collection; results are not computed.
func (c *Catalog) Search(req *milvuspb.SearchRequest) (*milvuspb.SearchResults, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.loadedCollection(name)
	if st != nil {
		return &milvuspb.SearchResults{Status: st, CollectionName: name}, nil
	}
	return &milvuspb.SearchResults{
		Status:         Success(),
		CollectionName: name,
		NumQueries:     max(req.GetNq(), 1),
		TopK:           min(coll.rows(), 10),
	}, nil
}

// Query answers a query over a loaded collection; results are not computed.
func (c *Catalog) Query(req *milvuspb.QueryRequest) (*milvuspb.QueryResults, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, st := c.loadedCollection(name); st != nil {
		return &milvuspb.QueryResults{Status: st, CollectionName: name}, nil
	}
	return &milvuspb.QueryResults{
		Status:         Success(),
		CollectionName: name,
		OutputFields:   slices.Clone(req.GetOutputFields()),
	}, nil
}

// GetPersistentSegmentInfo lists the flushed segments of a collection.
func (c *Catalog) GetPersistentSegmentInfo(req *milvuspb.GetPersistentSegmentInfoRequest) (*milvuspb.GetPersistentSegmentInfoResponse, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return &milvuspb.GetPersistentSegmentInfoResponse{Status: st}, nil
	}
	resp := &milvuspb.GetPersistentSegmentInfoResponse{Status: Success()}
	for _, p := range coll.sortedPartitions() {
		for _, s := range p.segments {
			if s.state != commonpb.SegmentState_Flushed {
				continue
			}
			resp.Infos = append(resp.Infos, &milvuspb.PersistentSegmentInfo{
				SegmentID: s.id, CollectionID: coll.id, PartitionID: p.id, NumRows: s.rows, State: s.state,
			})
		}
	}
	return resp, nil
}

// GetQuerySegmentInfo lists the segments of the loaded partitions of a
// collection.
func (c *Catalog) GetQuerySegmentInfo(req *milvuspb.GetQuerySegmentInfoRequest) (*milvuspb.GetQuerySegmentInfoResponse, error) {
	name := req.GetCollectionName()
	if err := RequireName("collection", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.lookup(name)
	if st != nil {
		return &milvuspb.GetQuerySegmentInfoResponse{Status: st}, nil
	}
	resp := &milvuspb.GetQuerySegmentInfoResponse{Status: Success()}
	for _, p := range coll.sortedPartitions() {
		if !p.loaded {
			continue
		}
		for _, s := range p.segments {
			resp.Infos = append(resp.Infos, &milvuspb.QuerySegmentInfo{
				SegmentID: s.id, CollectionID: coll.id, PartitionID: p.id, NumRows: s.rows,
			})
		}
	}
	return resp, nil
}

// collectionByID returns the collection with the given ID or a failing
// status. c.mu must be held.
func (c *Catalog) collectionByID(id int64) (*collection, *commonpb.Status) {
	for _, coll := range c.byName {
		if coll.id == id {
			return coll, nil
		}
	}
	return nil, Failure(commonpb.ErrorCode_CollectionNotExists, "collection %d not found", id)
}

// DescribeSegment describes a segment of a collection by ID.
func (c *Catalog) DescribeSegment(req *milvuspb.DescribeSegmentRequest) (*milvuspb.DescribeSegmentResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.collectionByID(req.GetCollectionID())
	if st != nil {
		return &milvuspb.DescribeSegmentResponse{Status: st}, nil
	}
	for _, p := range coll.partitions {
		for _, s := range p.segments {
			if s.id != req.GetSegmentID() {
				continue
			}
			resp := &milvuspb.DescribeSegmentResponse{Status: Success()}
			for _, ix := range coll.indexes {
				if !resp.EnableIndex || ix.id < resp.IndexID {
					resp.IndexID, resp.EnableIndex = ix.id, true
				}
			}
			return resp, nil
		}
	}
	return &milvuspb.DescribeSegmentResponse{
		Status: Failure(commonpb.ErrorCode_UnexpectedError, "segment %d not found in collection %d", req.GetSegmentID(), coll.id),
	}, nil
}

// ShowSegments lists the segment IDs of a partition by ID.
func (c *Catalog) ShowSegments(req *milvuspb.ShowSegmentsRequest) (*milvuspb.ShowSegmentsResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, st := c.collectionByID(req.GetCollectionID())
	if st != nil {
		return &milvuspb.ShowSegmentsResponse{Status: st}, nil
	}
	for _, p := range coll.partitions {
		if p.id != req.GetPartitionID() {
			continue
		}
		resp := &milvuspb.ShowSegmentsResponse{Status: Success()}
		for _, s := range p.segments {
			resp.SegmentIDs = append(resp.SegmentIDs, s.id)
		}
		return resp, nil
	}
	return &milvuspb.ShowSegmentsResponse{
		Status: Failure(commonpb.ErrorCode_UnexpectedError, "partition %d not found in collection %d", req.GetPartitionID(), coll.id),
	}, nil
}
