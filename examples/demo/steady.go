package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/milvustype"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
)

const (
	// steadyClients is how many clients the steady mix comes from: SourceIDs
	// 1 to steadyClients, so client_1 … client_4 on the rootcoord counters.
	steadyClients = 4
	// steadyPanicEvery makes every steadyPanicEvery-th steady call a handler
	// panic (the proxy's DescribeCollection), which recovery turns into an
	// error and the interceptor counts as fail.
	steadyPanicEvery = 100
	// steadyReportEvery is how often steady prints what it sent so far.
	steadyReportEvery = 30 * time.Second
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

// steadyMix returns one round of the steady mix: 26 proxy and rootcoord
// calls of which 4 fail, through a failing Milvus status (error_code or
// code) or a gRPC error. Temporary collections are created and dropped in
// the same round, so the servers' state stays bounded however long it runs.
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
	)
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
		{metric: pStats, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.GetCollectionStatistics(ctx, &milvuspb.GetCollectionStatisticsRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		{metric: pDrop, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.proxy.DropCollection(ctx, &milvuspb.DropCollectionRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		{metric: rCreate, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: b, CollectionName: coll + "_tmp"})
		}},
		{metric: rHasPart, perClient: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
			return d.rc.HasPartition(ctx, &milvuspb.HasPartitionRequest{Base: b, CollectionName: coll + "_tmp", PartitionName: "_default"})
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
		{metric: rDrop, perClient: true, wantFail: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, _ string) (any, error) {
			// a failing status: no such collection
			return d.rc.DropCollection(ctx, &milvuspb.DropCollectionRequest{Base: b, CollectionName: "missing"})
		}},
	}
}

// steadyPanic is the call that replaces every steadyPanicEvery-th call of
// the mix: the proxy's DescribeCollection handler panics.
func steadyPanic() steadyCall {
	return steadyCall{metric: "milvus_proxy_describe_collection_total", wantFail: true, call: func(ctx context.Context, d *demo, b *commonpb.MsgBase, coll string) (any, error) {
		return d.proxy.DescribeCollection(fault.AppendToOutgoingContext(ctx, fault.Panic), &milvuspb.DescribeCollectionRequest{Base: b, CollectionName: coll})
	}}
}

// steady sends calls, one every interval, until ctx is done: each client's
// collection first, then the rounds of [steadyMix], each round from the next
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
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return t, nil
		case <-report.C:
			fmt.Fprintf(out, "%s sent %s\n", time.Now().Format(time.TimeOnly), t.summary())
			continue
		case <-tick.C:
		}
		c := mix[i%len(mix)]
		if i%steadyPanicEvery == steadyPanicEvery-1 {
			c = panicCall
			t.panics++
		}
		src := 1 + int64(i/len(mix))%steadyClients
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
