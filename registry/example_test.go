package registry_test

import (
	"fmt"
	"sort"
	"time"

	"github.com/grpcmetrics/grpcmetrics/registry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func ExampleNew() {
	reg := prometheus.NewRegistry()
	m := registry.New()
	if err := m.RootCoord.Register(reg); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(m.RootCoord.Collectors()), "RootCoord collectors registered")

	// A vector shows once it has a series; the interceptor package does this
	// for the RPC counters.
	m.RootCoord.CreateCollectionCounter.WithLabelValues(registry.ClientLabel(7), registry.TotalLabel).Inc()
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, mf := range mfs {
		fmt.Println(mf.GetName())
	}
	// Output:
	// 17 RootCoord collectors registered
	// milvus_rootcoord_create_collection_total
	// milvus_rootcoord_dd_channel_time_tick
}

func ExampleRootCoord_SetInsertChannelTimeTick() {
	m := registry.New()
	ts := registry.ComposeTS(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), 9)
	if err := m.RootCoord.SetInsertChannelTimeTick("by-dev-rootcoord-dml_0v0", ts); err != nil {
		fmt.Println(err)
		return
	}
	v := testutil.ToFloat64(m.RootCoord.InsertChannelTimeTick.WithLabelValues("by-dev-rootcoord-dml_0v0"))
	fmt.Printf("%.0f\n", v)

	// The gauge holds the time of day (Mod24H), which ParseTS reads back.
	physical, logical := registry.ParseTS(uint64(v))
	fmt.Println(physical.UTC().Format("15:04:05.000"), logical)
	// Output:
	// 2895382052873
	// 03:04:05.006 9
}

func ExampleClientLabel() {
	fmt.Println(registry.ClientLabel(42))
	fmt.Println(registry.ClientLabel(-1))
	// Output:
	// client_42
	// client_-1
}

func ExampleMod24H() {
	ts := registry.ComposeTS(time.Date(2026, 1, 2, 0, 0, 1, 0, time.UTC), 5)
	d := registry.Mod24H(ts)
	// One second (1000 ms) into the day, logical counter 5.
	fmt.Println(d, d>>registry.LogicalBits, d&(1<<registry.LogicalBits-1))
	// Output: 262144005 1000 5
}

func ExampleParseTS() {
	ts := registry.ComposeTS(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), 9)
	physical, logical := registry.ParseTS(ts)
	fmt.Println(physical.UTC().Format(time.RFC3339Nano), logical)
	// Output: 2026-01-02T03:04:05.006Z 9
}

func ExampleLintExceptions() {
	var names []string
	for name := range registry.LintExceptions() {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Println(name)
	}
	// Output:
	// milvus_dataCoord_list_of_data_node
	// milvus_dataNode_flush_segments_total
	// milvus_dataNode_watch_dm_channels_total
	// milvus_proxy_create_index_counter
	// milvus_proxy_describe_index_counter
	// milvus_proxy_get_index_state_counter
}
