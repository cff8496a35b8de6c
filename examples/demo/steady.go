package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

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
)

// steadyCall is one call of the steady mix: the counter it moves, whether
// it is meant to fail, and the call itself.
type steadyCall struct {
	metric   string
	wantFail bool
	call     func(context.Context) (any, error)
}

// rpc returns a call of a generated client's method with req, and with the
// fault m asked for in its metadata.
func rpc[Req, Resp any](m fault.Mode, method func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) func(context.Context) (any, error) {
	return func(ctx context.Context) (any, error) { return method(fault.AppendToOutgoingContext(ctx, m), req) }
}

// steadyMix returns one round of the steady mix for the client with SourceID
// src, whose collection steady_<src> steady creates on the proxy and the
// rootcoord before the mix starts: 55 calls that reach every method of the
// Milvus table, of which 7 fail, through a failing Milvus status (by
// itself, or injected with an error_code or a code) or a gRPC error. The
// round creates and drops a collection and a partition of its own, so the
// servers' state stays the same however long it runs.
func steadyMix(d *demo, src int64) []steadyCall {
	b := &commonpb.MsgBase{SourceID: src}
	own := fmt.Sprintf("steady_%d", src)
	tmp := own + "_tmp"
	ok := func(metric string, call func(context.Context) (any, error)) steadyCall {
		return steadyCall{metric: metric, call: call}
	}
	fail := func(metric string, call func(context.Context) (any, error)) steadyCall {
		return steadyCall{metric: metric, wantFail: true, call: call}
	}
	const none = fault.None
	return []steadyCall{
		// The proxy's MilvusService.
		ok("milvus_proxy_create_collection_total", rpc(none, d.proxy.CreateCollection, &milvuspb.CreateCollectionRequest{Base: b, CollectionName: tmp})),
		ok("milvus_proxy_has_collection_total", rpc(none, d.proxy.HasCollection, &milvuspb.HasCollectionRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_describe_collection_total", rpc(none, d.proxy.DescribeCollection, &milvuspb.DescribeCollectionRequest{Base: b, CollectionName: own})),
		fail("milvus_proxy_describe_collection_total", rpc(none, d.proxy.DescribeCollection, &milvuspb.DescribeCollectionRequest{Base: b, CollectionName: "missing"})),
		ok("milvus_proxy_show_collections_total", rpc(none, d.proxy.ShowCollections, &milvuspb.ShowCollectionsRequest{Base: b})),
		ok("milvus_proxy_create_partition_total", rpc(none, d.proxy.CreatePartition, &milvuspb.CreatePartitionRequest{Base: b, CollectionName: tmp, PartitionName: "p1"})),
		ok("milvus_proxy_has_partition_total", rpc(none, d.proxy.HasPartition, &milvuspb.HasPartitionRequest{Base: b, CollectionName: tmp, PartitionName: "p1"})),
		ok("milvus_proxy_show_partitions_total", rpc(none, d.proxy.ShowPartitions, &milvuspb.ShowPartitionsRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_load_collection_total", rpc(none, d.proxy.LoadCollection, &milvuspb.LoadCollectionRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_load_partitions_total", rpc(none, d.proxy.LoadPartitions, &milvuspb.LoadPartitionsRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_insert_total", rpc(none, d.proxy.Insert, &milvuspb.InsertRequest{Base: b, CollectionName: own, NumRows: 10})),
		ok("milvus_proxy_search_total", rpc(none, d.proxy.Search, &milvuspb.SearchRequest{Base: b, CollectionName: own, Nq: 1})),
		ok("milvus_proxy_query_total", rpc(none, d.proxy.Query, &milvuspb.QueryRequest{Base: b, CollectionName: own, Expr: "id > 0"})),
		ok("milvus_proxy_flush_total", rpc(none, d.proxy.Flush, &milvuspb.FlushRequest{Base: b, CollectionNames: []string{own}})),
		ok("milvus_proxy_get_persistent_segment_info_total", rpc(none, d.proxy.GetPersistentSegmentInfo, &milvuspb.GetPersistentSegmentInfoRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_get_query_segment_info_total", rpc(none, d.proxy.GetQuerySegmentInfo, &milvuspb.GetQuerySegmentInfoRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_get_collection_statistics_total", rpc(none, d.proxy.GetCollectionStatistics, &milvuspb.GetCollectionStatisticsRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_get_partition_statistics_total", rpc(none, d.proxy.GetPartitionStatistics, &milvuspb.GetPartitionStatisticsRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_create_index_counter", rpc(none, d.proxy.CreateIndex, &milvuspb.CreateIndexRequest{Base: b, CollectionName: own, FieldName: "vector"})),
		ok("milvus_proxy_describe_index_counter", rpc(none, d.proxy.DescribeIndex, &milvuspb.DescribeIndexRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_get_index_state_counter", rpc(none, d.proxy.GetIndexState, &milvuspb.GetIndexStateRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_get_index_build_progress_total", rpc(none, d.proxy.GetIndexBuildProgress, &milvuspb.GetIndexBuildProgressRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_drop_index_total", rpc(none, d.proxy.DropIndex, &milvuspb.DropIndexRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_release_partitions_total", rpc(none, d.proxy.ReleasePartitions, &milvuspb.ReleasePartitionsRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_release_collection_total", rpc(none, d.proxy.ReleaseCollection, &milvuspb.ReleaseCollectionRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_drop_partition_total", rpc(none, d.proxy.DropPartition, &milvuspb.DropPartitionRequest{Base: b, CollectionName: tmp, PartitionName: "p1"})),
		ok("milvus_proxy_drop_collection_total", rpc(none, d.proxy.DropCollection, &milvuspb.DropCollectionRequest{Base: b, CollectionName: tmp})),
		ok("milvus_proxy_dummy_total", rpc(none, d.proxy.Dummy, &milvuspb.DummyRequest{RequestType: "ping"})),
		ok("milvus_proxy_register_link_total", rpc(none, d.proxy.RegisterLink, &milvuspb.RegisterLinkRequest{})),
		fail("milvus_proxy_has_collection_total", rpc(fault.Error, d.proxy.HasCollection, &milvuspb.HasCollectionRequest{Base: b, CollectionName: own})),
		// The proxy's internal service, as the coordinators call it.
		ok("milvus_proxy_get_component_states_total", rpc(none, d.pi.GetComponentStates, &internalpb.GetComponentStatesRequest{})),
		ok("milvus_proxy_get_statistics_channel_total", rpc(none, d.pi.GetStatisticsChannel, &internalpb.GetStatisticsChannelRequest{})),
		ok("milvus_proxy_get_dd_channel_total", rpc(none, d.pi.GetDdChannel, &internalpb.GetDdChannelRequest{})),
		ok("milvus_proxy_invalidate_collection_meta_cache_total", rpc(none, d.pi.InvalidateCollectionMetaCache, &proxypb.InvalidateCollMetaCacheRequest{Base: b, CollectionName: own})),
		ok("milvus_proxy_release_dql_message_stream_total", rpc(none, d.pi.ReleaseDQLMessageStream, &proxypb.ReleaseDQLMessageStreamRequest{Base: b})),
		// The rootcoord, whose counters have a client_id.
		ok("milvus_rootcoord_create_collection_total", rpc(none, d.rc.CreateCollection, &milvuspb.CreateCollectionRequest{Base: b, CollectionName: tmp})),
		fail("milvus_rootcoord_create_collection_total", rpc(none, d.rc.CreateCollection, &milvuspb.CreateCollectionRequest{Base: b, CollectionName: own})),
		fail("milvus_rootcoord_create_collection_total", rpc(fault.Code, d.rc.CreateCollection, &milvuspb.CreateCollectionRequest{Base: b, CollectionName: own + "_x"})),
		ok("milvus_rootcoord_has_collection_total", rpc(none, d.rc.HasCollection, &milvuspb.HasCollectionRequest{Base: b, CollectionName: own})),
		ok("milvus_rootcoord_describe_collection_total", rpc(none, d.rc.DescribeCollection, &milvuspb.DescribeCollectionRequest{Base: b, CollectionName: own})),
		ok("milvus_rootcoord_show_collections_total", rpc(none, d.rc.ShowCollections, &milvuspb.ShowCollectionsRequest{Base: b})),
		ok("milvus_rootcoord_create_partition_total", rpc(none, d.rc.CreatePartition, &milvuspb.CreatePartitionRequest{Base: b, CollectionName: tmp, PartitionName: "p1"})),
		ok("milvus_rootcoord_has_partition_total", rpc(none, d.rc.HasPartition, &milvuspb.HasPartitionRequest{Base: b, CollectionName: tmp, PartitionName: "p1"})),
		ok("milvus_rootcoord_show_partitions_total", rpc(none, d.rc.ShowPartitions, &milvuspb.ShowPartitionsRequest{Base: b, CollectionName: own})),
		ok("milvus_rootcoord_drop_partition_total", rpc(none, d.rc.DropPartition, &milvuspb.DropPartitionRequest{Base: b, CollectionName: tmp, PartitionName: "p1"})),
		ok("milvus_rootcoord_create_index_total", rpc(none, d.rc.CreateIndex, &milvuspb.CreateIndexRequest{Base: b, CollectionName: own, FieldName: "vector"})),
		ok("milvus_rootcoord_describe_index_total", rpc(none, d.rc.DescribeIndex, &milvuspb.DescribeIndexRequest{Base: b, CollectionName: own})),
		ok("milvus_rootcoord_drop_index_total", rpc(none, d.rc.DropIndex, &milvuspb.DropIndexRequest{Base: b, CollectionName: own})),
		ok("milvus_rootcoord_show_segments_total", rpc(none, d.rc.ShowSegments, &milvuspb.ShowSegmentsRequest{Base: b, CollectionID: 1})),
		fail("milvus_rootcoord_describe_segment_total", rpc(none, d.rc.DescribeSegment, &milvuspb.DescribeSegmentRequest{Base: b, CollectionID: 1, SegmentID: 1})),
		ok("milvus_rootcoord_drop_collection_total", rpc(none, d.rc.DropCollection, &milvuspb.DropCollectionRequest{Base: b, CollectionName: tmp})),
		fail("milvus_rootcoord_drop_collection_total", rpc(none, d.rc.DropCollection, &milvuspb.DropCollectionRequest{Base: b, CollectionName: "missing"})),
		// The data node.
		ok("milvus_dataNode_flush_segments_total", rpc(none, d.dn.FlushSegments, &datapb.FlushSegmentsRequest{Base: b, CollectionID: 1, SegmentIDs: []int64{1}})),
		ok("milvus_dataNode_watch_dm_channels_total", rpc(none, d.dn.WatchDmChannels, &datapb.WatchDmChannelsRequest{Base: b, Vchannels: []string{own + "_dml"}})),
		fail("milvus_dataNode_watch_dm_channels_total", rpc(fault.ErrorCode, d.dn.WatchDmChannels, &datapb.WatchDmChannelsRequest{Base: b, Vchannels: []string{own + "_dml"}})),
	}
}

// steady sends calls, one every interval, until ctx is done: each client's
// collection on the proxy and the rootcoord first, then the rounds of
// [steadyMix], each round from the next client, with a panic in place of
// every steadyPanicEvery-th call. It prints what it sent every
// steadyReportEvery and returns the tally of what every call ended as,
// which the counters must equal. A call in flight when ctx ends still runs
// to its end, so the tally stays exact. If done is not nil, it is given
// the tally after each call of the mix (and each panic).
func steady(ctx context.Context, d *demo, interval time.Duration, out io.Writer, done func(*tally)) (*tally, error) {
	t := newTally()
	var mixes [][]steadyCall // by client, from SourceID 1
	var panics []steadyCall
	for src := int64(1); src <= steadyClients; src++ {
		b, own := &commonpb.MsgBase{SourceID: src}, fmt.Sprintf("steady_%d", src)
		create := []steadyCall{
			{metric: "milvus_proxy_create_collection_total", call: rpc(fault.None, d.proxy.CreateCollection, &milvuspb.CreateCollectionRequest{Base: b, CollectionName: own})},
			{metric: "milvus_rootcoord_create_collection_total", call: rpc(fault.None, d.rc.CreateCollection, &milvuspb.CreateCollectionRequest{Base: b, CollectionName: own})},
		}
		for _, c := range create {
			if ok := t.do(ctx, c, src); !ok {
				return t, fmt.Errorf("steady: creating the collection of client %d failed", src)
			}
		}
		mixes = append(mixes, steadyMix(d, src))
		panics = append(panics, steadyCall{metric: "milvus_proxy_describe_collection_total", wantFail: true,
			call: rpc(fault.Panic, d.proxy.DescribeCollection, &milvuspb.DescribeCollectionRequest{Base: b, CollectionName: own})})
	}

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
		round := next / len(mixes[0])
		src := 1 + int64(round%steadyClients)
		var c steadyCall
		if n%steadyPanicEvery == steadyPanicEvery-1 {
			c = panics[src-1]
			t.panics++
		} else {
			c = mixes[src-1][next%len(mixes[0])]
			next++
		}
		if ok := t.do(ctx, c, src); !ok {
			d.logger.Warn("steady call ended unlike the mix expected", zap.String("metric", c.metric), zap.Int64("source_id", src), zap.Bool("want_fail", c.wantFail))
		}
		if done != nil {
			done(t)
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
func (t *tally) do(ctx context.Context, c steadyCall, src int64) bool {
	cctx, cancel := context.WithTimeout(withTenant(context.WithoutCancel(ctx), src), 5*time.Second)
	defer cancel()
	resp, err := c.call(cctx)
	failed := err != nil
	if !failed {
		failed = milvustype.Status(resp)
	}
	s := series{metric: c.metric}
	if strings.HasPrefix(c.metric, "milvus_rootcoord_") {
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
