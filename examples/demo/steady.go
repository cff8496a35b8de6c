package main

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/milvustype"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/datapb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/internalpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/proxypb"
)

const (
	// steadyClients is how many clients the steady mix comes from: SourceIDs
	// 1 to steadyClients, so client_1 … client_4 on the rootcoord counters.
	steadyClients = 4
	// steadyPanicEvery makes every steadyPanicEvery-th steady call a handler
	// panic (the proxy's DescribeCollection), which recovery turns into an
	// error and the interceptor counts as fail. The panic comes between two
	// calls of the mix, in place of none.
	steadyPanicEvery = 100
	// steadyReportEvery is how often steady prints what it sent so far.
	steadyReportEvery = 30 * time.Second
	// steadyPartition is the partition the mix creates, uses and drops in
	// each round's temporary collection.
	steadyPartition = "p1"
	// steadyField is the field the mix indexes in each round's temporary
	// collection.
	steadyField = "vector"
)

// steadyCall is one call of the steady mix: what it calls, which counter it
// moves and whether that call is meant to fail.
type steadyCall struct {
	metric    string // the counter the call moves
	perClient bool   // the counter has a client_id label (rootcoord)
	wantFail  bool
	// call makes the call for the client with base, whose own collection
	// (created by steady before the mix starts) is named coll.
	call func(ctx context.Context, d *demo, base *commonpb.MsgBase, coll string) (any, error)
}

// steadyMix returns one round of the steady mix: 62 proxy, rootcoord and
// data-node calls that reach every method of the Milvus table, of which 7
// fail, through a failing Milvus status (error_code or code) or a gRPC
// error. Temporary collections are created and dropped in the same round, so
// the servers' state stays bounded however long it runs, but for the data
// node's record of flushed segments, which grows by one ID a round.
func steadyMix() []steadyCall {
	const (
		pHas      = "milvus_proxy_has_collection_total"
		pDescribe = "milvus_proxy_describe_collection_total"
		pShow     = "milvus_proxy_show_collections_total"
		pCreate   = "milvus_proxy_create_collection_total"
		pDrop     = "milvus_proxy_drop_collection_total"
		pStats    = "milvus_proxy_get_collection_statistics_total"
		pShowPart = "milvus_proxy_show_partitions_total"
		rHas      = "milvus_rootcoord_has_collection_total"
		rDescribe = "milvus_rootcoord_describe_collection_total"
		rShow     = "milvus_rootcoord_show_collections_total"
		rCreate   = "milvus_rootcoord_create_collection_total"
		rDrop     = "milvus_rootcoord_drop_collection_total"
		rHasPart  = "milvus_rootcoord_has_partition_total"
		rShowPart = "milvus_rootcoord_show_partitions_total"

		pCreatePart  = "milvus_proxy_create_partition_total"
		pHasPart     = "milvus_proxy_has_partition_total"
		pLoad        = "milvus_proxy_load_collection_total"
		pLoadPart    = "milvus_proxy_load_partitions_total"
		pInsert      = "milvus_proxy_insert_total"
		pSearch      = "milvus_proxy_search_total"
		pQuery       = "milvus_proxy_query_total"
		pQuerySeg    = "milvus_proxy_get_query_segment_info_total"
		pFlush       = "milvus_proxy_flush_total"
		pPersistSeg  = "milvus_proxy_get_persistent_segment_info_total"
		pPartStats   = "milvus_proxy_get_partition_statistics_total"
		pCreateIdx   = "milvus_proxy_create_index_counter"
		pDescIdx     = "milvus_proxy_describe_index_counter"
		pIdxState    = "milvus_proxy_get_index_state_counter"
		pIdxProgress = "milvus_proxy_get_index_build_progress_total"
		pDropIdx     = "milvus_proxy_drop_index_total"
		pReleasePart = "milvus_proxy_release_partitions_total"
		pRelease     = "milvus_proxy_release_collection_total"
		pDropPart    = "milvus_proxy_drop_partition_total"
		pDummy       = "milvus_proxy_dummy_total"
		pLink        = "milvus_proxy_register_link_total"
		piStates     = "milvus_proxy_get_component_states_total"
		piStatsChan  = "milvus_proxy_get_statistics_channel_total"
		piDdChan     = "milvus_proxy_get_dd_channel_total"
		piInvalidate = "milvus_proxy_invalidate_collection_meta_cache_total"
		piReleaseDQL = "milvus_proxy_release_dql_message_stream_total"
		rCreatePart  = "milvus_rootcoord_create_partition_total"
		rDropPart    = "milvus_rootcoord_drop_partition_total"
		rCreateIdx   = "milvus_rootcoord_create_index_total"
		rDescIdx     = "milvus_rootcoord_describe_index_total"
		rDropIdx     = "milvus_rootcoord_drop_index_total"
		rDescSeg     = "milvus_rootcoord_describe_segment_total"
		rShowSeg     = "milvus_rootcoord_show_segments_total"
		dFlush       = "milvus_dataNode_flush_segments_total"
		dWatch       = "milvus_dataNode_watch_dm_channels_total"
	)
	// segment numbers the segments the data node is asked to flush, so
	// that each flush is of a new segment and succeeds.
	var segment atomic.Int64
	pHasOK := steadyCall{metric: pHas, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
		return d.proxy.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: b, CollectionName: coll})
	}}
	pDescribeOK := steadyCall{metric: pDescribe, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
		return d.proxy.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{Base: b, CollectionName: coll})
	}}
	pShowOK := steadyCall{metric: pShow, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, _ string) (any, error) {
		return d.proxy.ShowCollections(ctx, &milvuspb.ShowCollectionsRequest{Base: b})
	}}
	rHasOK := steadyCall{metric: rHas, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
		return d.rc.HasCollection(ctx, &milvuspb.HasCollectionRequest{Base: b, CollectionName: coll})
	}}
	rDescribeOK := steadyCall{metric: rDescribe, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
		return d.rc.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{Base: b, CollectionName: coll})
	}}
	rShowOK := steadyCall{metric: rShow, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, _ string) (any, error) {
		return d.rc.ShowCollections(ctx, &milvuspb.ShowCollectionsRequest{Base: b})
	}}
	return []steadyCall{
		pHasOK, pDescribeOK, rHasOK, rDescribeOK, pShowOK, rShowOK,
		{metric: pCreate, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		// The life of a temporary collection, through every MilvusService
		// method: partitions, loading, rows, search and query, flush,
		// segments, indexes, release.
		{metric: pCreatePart, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{Base: b, CollectionName: coll + "_tmp", PartitionName: steadyPartition})
		}},
		{metric: pHasPart, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.HasPartition(ctx, &milvuspb.HasPartitionRequest{Base: b, CollectionName: coll + "_tmp", PartitionName: steadyPartition})
		}},
		{metric: pLoad, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.LoadCollection(ctx, &milvuspb.LoadCollectionRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		{metric: pLoadPart, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.LoadPartitions(ctx, &milvuspb.LoadPartitionsRequest{Base: b, CollectionName: coll + "_tmp", PartitionNames: []string{steadyPartition}})
		}},
		{metric: pInsert, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.Insert(ctx, &milvuspb.InsertRequest{Base: b, CollectionName: coll + "_tmp", PartitionName: steadyPartition, NumRows: 10})
		}},
		{metric: pSearch, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.Search(ctx, &milvuspb.SearchRequest{Base: b, CollectionName: coll + "_tmp", Nq: 1})
		}},
		{metric: pQuery, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.Query(ctx, &milvuspb.QueryRequest{Base: b, CollectionName: coll + "_tmp", Expr: "id > 0"})
		}},
		{metric: pQuerySeg, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.GetQuerySegmentInfo(ctx, &milvuspb.GetQuerySegmentInfoRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		{metric: pFlush, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.Flush(ctx, &milvuspb.FlushRequest{Base: b, CollectionNames: []string{coll + "_tmp"}})
		}},
		{metric: pPersistSeg, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.GetPersistentSegmentInfo(ctx, &milvuspb.GetPersistentSegmentInfoRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		{metric: pPartStats, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.GetPartitionStatistics(ctx, &milvuspb.GetPartitionStatisticsRequest{Base: b, CollectionName: coll + "_tmp", PartitionName: steadyPartition})
		}},
		{metric: pCreateIdx, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.CreateIndex(ctx, &milvuspb.CreateIndexRequest{Base: b, CollectionName: coll + "_tmp", FieldName: steadyField})
		}},
		{metric: pDescIdx, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		{metric: pIdxState, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.GetIndexState(ctx, &milvuspb.GetIndexStateRequest{Base: b, CollectionName: coll + "_tmp", FieldName: steadyField})
		}},
		{metric: pIdxProgress, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.GetIndexBuildProgress(ctx, &milvuspb.GetIndexBuildProgressRequest{Base: b, CollectionName: coll + "_tmp", FieldName: steadyField})
		}},
		{metric: pDropIdx, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.DropIndex(ctx, &milvuspb.DropIndexRequest{Base: b, CollectionName: coll + "_tmp", FieldName: steadyField})
		}},
		{metric: pReleasePart, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.ReleasePartitions(ctx, &milvuspb.ReleasePartitionsRequest{Base: b, CollectionName: coll + "_tmp", PartitionNames: []string{steadyPartition}})
		}},
		{metric: pRelease, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.ReleaseCollection(ctx, &milvuspb.ReleaseCollectionRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		{metric: pDropPart, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.DropPartition(ctx, &milvuspb.DropPartitionRequest{Base: b, CollectionName: coll + "_tmp", PartitionName: steadyPartition})
		}},
		{metric: pStats, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.GetCollectionStatistics(ctx, &milvuspb.GetCollectionStatisticsRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		{metric: pDrop, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.DropCollection(ctx, &milvuspb.DropCollectionRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		{metric: pDummy, call: func(ctx context.Context, d *demo, _ *commonpb.MsgBase, _ string) (any, error) {
			return d.proxy.Dummy(ctx, &milvuspb.DummyRequest{RequestType: "ping"})
		}},
		{metric: pLink, call: func(ctx context.Context, d *demo, _ *commonpb.MsgBase, _ string) (any, error) {
			return d.proxy.RegisterLink(ctx, &milvuspb.RegisterLinkRequest{})
		}},
		// The proxy's internal service, as the coordinators call it.
		{metric: piStates, call: func(ctx context.Context, d *demo, _ *commonpb.MsgBase, _ string) (any, error) {
			return d.pi.GetComponentStates(ctx, &internalpb.GetComponentStatesRequest{})
		}},
		{metric: piStatsChan, call: func(ctx context.Context, d *demo, _ *commonpb.MsgBase, _ string) (any, error) {
			return d.pi.GetStatisticsChannel(ctx, &internalpb.GetStatisticsChannelRequest{})
		}},
		{metric: piDdChan, call: func(ctx context.Context, d *demo, _ *commonpb.MsgBase, _ string) (any, error) {
			return d.pi.GetDdChannel(ctx, &internalpb.GetDdChannelRequest{})
		}},
		{metric: piInvalidate, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.pi.InvalidateCollectionMetaCache(ctx, &proxypb.InvalidateCollMetaCacheRequest{Base: b, CollectionName: coll})
		}},
		{metric: piReleaseDQL, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, _ string) (any, error) {
			return d.pi.ReleaseDQLMessageStream(ctx, &proxypb.ReleaseDQLMessageStreamRequest{Base: b})
		}},
		{metric: rCreate, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		{metric: rHasPart, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.rc.HasPartition(ctx, &milvuspb.HasPartitionRequest{Base: b, CollectionName: coll + "_tmp", PartitionName: "_default"})
		}},
		{metric: rCreatePart, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.rc.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{Base: b, CollectionName: coll + "_tmp", PartitionName: steadyPartition})
		}},
		{metric: rDropPart, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.rc.DropPartition(ctx, &milvuspb.DropPartitionRequest{Base: b, CollectionName: coll + "_tmp", PartitionName: steadyPartition})
		}},
		{metric: rCreateIdx, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.rc.CreateIndex(ctx, &milvuspb.CreateIndexRequest{Base: b, CollectionName: coll + "_tmp", FieldName: steadyField})
		}},
		{metric: rDescIdx, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.rc.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{Base: b, CollectionName: coll + "_tmp", FieldName: steadyField})
		}},
		{metric: rDropIdx, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.rc.DropIndex(ctx, &milvuspb.DropIndexRequest{Base: b, CollectionName: coll + "_tmp", FieldName: steadyField})
		}},
		{metric: rDescSeg, perClient: true, wantFail: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, _ string) (any, error) {
			// a failing status: the root coordinator knows no segments
			return d.rc.DescribeSegment(ctx, &milvuspb.DescribeSegmentRequest{Base: b, CollectionID: 1, SegmentID: 1})
		}},
		{metric: rShowSeg, perClient: true, wantFail: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, _ string) (any, error) {
			// a failing status: no collection has ID 0
			return d.rc.ShowSegments(ctx, &milvuspb.ShowSegmentsRequest{Base: b})
		}},
		{metric: rDrop, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.rc.DropCollection(ctx, &milvuspb.DropCollectionRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		pHasOK, rHasOK,
		{metric: pDescribe, wantFail: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, _ string) (any, error) {
			// a failing status: no such collection
			return d.proxy.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{Base: b, CollectionName: "missing"})
		}},
		{metric: pShowPart, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.ShowPartitions(ctx, &milvuspb.ShowPartitionsRequest{Base: b, CollectionName: coll})
		}},
		{metric: rShowPart, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.rc.ShowPartitions(ctx, &milvuspb.ShowPartitionsRequest{Base: b, CollectionName: coll})
		}},
		pDescribeOK, rDescribeOK,
		{metric: rCreate, perClient: true, wantFail: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			// a failing status with a non-zero code
			return d.rc.CreateCollection(fault.AppendToOutgoingContext(ctx, fault.Code), &milvuspb.CreateCollectionRequest{Base: b, CollectionName: coll + "_x"})
		}},
		pHasOK, rHasOK, pShowOK,
		{metric: pHas, wantFail: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			// a gRPC error
			return d.proxy.HasCollection(fault.AppendToOutgoingContext(ctx, fault.Error), &milvuspb.HasCollectionRequest{Base: b, CollectionName: coll})
		}},
		rShowOK, pHasOK,
		{metric: dFlush, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, _ string) (any, error) {
			// a segment never flushed before
			return d.dn.FlushSegments(ctx, &datapb.FlushSegmentsRequest{Base: b, CollectionID: 1, SegmentIDs: []int64{segment.Add(1)}})
		}},
		{metric: dWatch, wantFail: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			// a failing status: steady watched the client's channel before the mix
			return d.dn.WatchDmChannels(ctx, &datapb.WatchDmChannelsRequest{Base: b, Vchannels: []string{coll + "_dml"}})
		}},
		{metric: rDrop, perClient: true, wantFail: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, _ string) (any, error) {
			// a failing status: no such collection
			return d.rc.DropCollection(ctx, &milvuspb.DropCollectionRequest{Base: b, CollectionName: "missing"})
		}},
	}
}

// steadyPanic is every steadyPanicEvery-th steady call, sent between two
// calls of the mix: the proxy's DescribeCollection handler panics.
func steadyPanic() steadyCall {
	return steadyCall{metric: "milvus_proxy_describe_collection_total", wantFail: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
		return d.proxy.DescribeCollection(fault.AppendToOutgoingContext(ctx, fault.Panic), &milvuspb.DescribeCollectionRequest{Base: b, CollectionName: coll})
	}}
}

// steady sends calls, one every interval, until ctx is done: each client's
// collection and data-node channel first, then the rounds of [steadyMix], each round from the next
// client. It prints what it sent every steadyReportEvery and returns the
// tally of what every call ended as, which the counters must equal. A call
// in flight when ctx ends still runs to its end, so the tally stays exact.
func steady(ctx context.Context, d *demo, interval time.Duration, out io.Writer) (*tally, error) {
	t := newTally()
	create := []steadyCall{
		{metric: "milvus_proxy_create_collection_total", call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: b, CollectionName: coll})
		}},
		{metric: "milvus_rootcoord_create_collection_total", perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: b, CollectionName: coll})
		}},
		{metric: "milvus_dataNode_watch_dm_channels_total", call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.dn.WatchDmChannels(ctx, &datapb.WatchDmChannelsRequest{Base: b, Vchannels: []string{coll + "_dml"}})
		}},
	}
	for src := int64(1); src <= steadyClients; src++ {
		for _, c := range create {
			if ok := t.do(ctx, d, c, src); !ok {
				return t, fmt.Errorf("steady: creating the collection of client %d failed", src)
			}
		}
	}

	mix, panicCall := steadyMix(), steadyPanic()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	report := time.NewTicker(steadyReportEvery)
	defer report.Stop()
	// n counts the calls sent, next the calls of the mix sent: a panic call
	// comes on top of the mix and a report is no call, so neither breaks
	// the order a round's calls depend on.
	for n, next := 0, 0; ; n++ {
		select {
		case <-ctx.Done():
			return t, nil
		case <-report.C:
			fmt.Fprintf(out, "%s sent %s\n", time.Now().Format(time.TimeOnly), t.summary())
			n--
			continue
		case <-tick.C:
		}
		src := 1 + int64(next/len(mix))%steadyClients
		c := panicCall
		if n%steadyPanicEvery == steadyPanicEvery-1 {
			t.panics++
		} else {
			c = mix[next%len(mix)]
			next++
		}
		if ok := t.do(ctx, d, c, src); !ok {
			d.logger.Warn("steady call ended unlike the mix expected", zap.String("metric", c.metric), zap.Int64("source_id", src), zap.Bool("want_fail", c.wantFail))
		}
	}
}

// series is one counter series: a metric and, for client-labelled counters,
// its client_id.
type series struct {
	metric   string
	clientID string
}

// outcomes counts the calls that ended as success and as fail.
type outcomes struct{ success, fail int }

// tally counts what the steady calls ended as, per counter series, as the
// client saw it.
type tally struct {
	bySeries   map[series]*outcomes
	calls      int
	fails      int
	panics     int
	unexpected int
}

func newTally() *tally { return &tally{bySeries: map[series]*outcomes{}} }

// do makes c for the client with SourceID src, records its outcome and
// reports whether the outcome is the one the mix meant. The call gets its
// own deadline and is not cut short by ctx, so the server and the tally
// always agree on how it ended.
func (t *tally) do(ctx context.Context, d *demo, c steadyCall, src int64) bool {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	resp, err := c.call(cctx, d, &commonpb.MsgBase{SourceID: src}, fmt.Sprintf("steady_%d", src))
	failed := err != nil
	if !failed {
		failed = milvustype.Status(resp)
	}
	s := series{metric: c.metric}
	if c.perClient {
		s.clientID = fmt.Sprintf("client_%d", src)
	}
	o := t.bySeries[s]
	if o == nil {
		o = &outcomes{}
		t.bySeries[s] = o
	}
	t.calls++
	if failed {
		o.fail++
		t.fails++
	} else {
		o.success++
	}
	if failed != c.wantFail {
		t.unexpected++
		return false
	}
	return true
}

// summary says how many calls were sent and how they ended.
func (t *tally) summary() string {
	s := fmt.Sprintf("%d calls: %d success, %d fail (%d of them panics)", t.calls, t.calls-t.fails, t.fails, t.panics)
	if t.unexpected > 0 {
		s += fmt.Sprintf(", %d unlike the mix expected", t.unexpected)
	}
	return s
}
