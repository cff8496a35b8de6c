package interceptor_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// clLabelKey is the metadata key whose value the test servers' client rule
// turns into a [interceptor.Label]; binary, so any bytes travel.
const clLabelKey = "cl-client-bin"

// clClientOf is the test servers' client rule: the label in the call's
// metadata if there is one, else the SourceID of the request's base, else
// the unknown client.
func clClientOf(ctx context.Context, req any) interceptor.ClientID {
	if vs := metadata.ValueFromIncomingContext(ctx, clLabelKey); len(vs) > 0 {
		return interceptor.Label(vs[0])
	}
	if r, ok := req.(interface{ GetBase() *commonpb.MsgBase }); ok && r.GetBase() != nil {
		return interceptor.SourceID(r.GetBase().GetSourceID())
	}
	return interceptor.ClientID{}
}

type clRootCoord struct {
	rootcoordpb.UnimplementedRootCoordServer
}

func (clRootCoord) CreateCollection(context.Context, *milvuspb.CreateCollectionRequest) (*commonpb.Status, error) {
	return &commonpb.Status{}, nil
}

// clStack is a RootCoord server over bufconn counted by an interceptor with
// clClientOf as its client rule, and a registry holding both.
type clStack struct {
	metrics *registry.Metrics
	ic      *interceptor.Interceptor
	reg     *prometheus.Registry
	rc      rootcoordpb.RootCoordClient
}

func clNewStack(t *testing.T, opts ...interceptor.Option) *clStack {
	t.Helper()
	s := &clStack{metrics: registry.New(), reg: prometheus.NewPedanticRegistry()}
	require.NoError(t, s.metrics.Register(s.reg))
	methods, err := methodmap.Default(s.metrics)
	require.NoError(t, err)
	s.ic, err = interceptor.New(methods, append([]interceptor.Option{interceptor.WithClientID(clClientOf)}, opts...)...)
	require.NoError(t, err)
	require.NoError(t, s.ic.Register(s.reg))

	// Room for the long labels that some tests send as metadata.
	const headers = 8 << 20
	srv := grpc.NewServer(grpc.UnaryInterceptor(s.ic.UnaryServerInterceptor()), grpc.MaxHeaderListSize(headers))
	rootcoordpb.RegisterRootCoordServer(srv, clRootCoord{})
	lis := bufconn.Listen(1 << 20)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithMaxHeaderListSize(headers),
	)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, conn.Close())
		srv.Stop()
		if err := <-done; !errors.Is(err, grpc.ErrServerStopped) {
			assert.NoError(t, err, "Serve")
		}
	})
	s.rc = rootcoordpb.NewRootCoordClient(conn)
	return s
}

// clCall is one call's client: a label sent as metadata, or a SourceID in
// the request's base, or neither.
type clCall struct {
	label     string
	hasLabel  bool
	source    int64
	hasSource bool
}

func clLabel(v string) clCall   { return clCall{label: v, hasLabel: true} }
func clSource(id int64) clCall  { return clCall{source: id, hasSource: true} }
func (c clCall) String() string { return fmt.Sprintf("%+q", c.label) }

// call makes one CreateCollection call as c.
func (s *clStack) call(t *testing.T, c clCall) {
	t.Helper()
	ctx := context.Background()
	if c.hasLabel {
		ctx = metadata.AppendToOutgoingContext(ctx, clLabelKey, c.label)
	}
	req := &milvuspb.CreateCollectionRequest{}
	if c.hasSource {
		req.Base = &commonpb.MsgBase{SourceID: c.source}
	}
	_, err := s.rc.CreateCollection(ctx, req)
	require.NoError(t, err)
}

// totals returns the "total" value of every client_id of the
// CreateCollection counter.
func (s *clStack) totals(t *testing.T) map[string]float64 {
	t.Helper()
	got := map[string]float64{}
	for _, mf := range mustGather(t, s.reg) {
		if mf.GetName() != "milvus_rootcoord_create_collection_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels[registry.LabelType] == registry.TotalLabel {
				got[labels[registry.LabelClientID]] = m.GetCounter().GetValue()
			}
		}
	}
	return got
}

// own returns the value of the interceptor's own unlabelled metric name.
func (s *clStack) own(t *testing.T, name string) float64 {
	t.Helper()
	for _, mf := range mustGather(t, s.reg) {
		if mf.GetName() == name {
			require.Len(t, mf.GetMetric(), 1)
			m := mf.GetMetric()[0]
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	require.Failf(t, "no such metric", "%s", name)
	return 0
}

// TestClientIDsThatExportOneLabelShareOneSlot sends, over gRPC, clients
// whose IDs differ but export the same client_id value: each such value
// takes one place in the client table, counts into one set of series, and
// a user label equal to a fixed label is that fixed client, which takes no
// place and is no overflow.
func TestClientIDsThatExportOneLabelShareOneSlot(t *testing.T) {
	prefix := strings.Repeat("p", interceptor.MaxClientIDLength)
	tests := []struct {
		name     string
		limit    int // 0: the default
		calls    []clCall
		totals   map[string]float64
		tracked  float64
		overflow float64
	}{
		{
			name:    "SourceID then its label",
			calls:   []clCall{clSource(7), clLabel("client_7")},
			totals:  map[string]float64{"client_7": 2},
			tracked: 1,
		},
		{
			name:    "label then its SourceID",
			calls:   []clCall{clLabel("client_7"), clSource(7), clLabel("client_7")},
			totals:  map[string]float64{"client_7": 3},
			tracked: 1,
		},
		{
			name:    "long labels sharing the exported prefix",
			calls:   []clCall{clLabel(prefix + "a"), clLabel(prefix + "b"), clLabel(prefix)},
			totals:  map[string]float64{prefix: 3},
			tracked: 1,
		},
		{
			name:    "invalid UTF-8 repaired alike",
			calls:   []clCall{clLabel("x\xff"), clLabel("x\xfe"), clLabel("x\uFFFD")},
			totals:  map[string]float64{"x\uFFFD": 3},
			tracked: 1,
		},
		{
			name:    "fixed labels are the fixed clients",
			calls:   []clCall{clLabel(registry.UnknownClientLabel), {}, clLabel(""), clLabel(registry.OverflowClientLabel)},
			totals:  map[string]float64{registry.UnknownClientLabel: 3, registry.OverflowClientLabel: 1},
			tracked: 0,
		},
		{
			name:  "the review's seven",
			calls: []clCall{clSource(7), clLabel("client_7"), clLabel(prefix + "a"), clLabel(prefix + "b"), clLabel(registry.UnknownClientLabel), clLabel(registry.OverflowClientLabel), clSource(7)},
			totals: map[string]float64{
				"client_7": 3, prefix: 2, registry.UnknownClientLabel: 1, registry.OverflowClientLabel: 1,
			},
			tracked: 2,
		},
		{
			name:     "a full table admits an alias of a tracked client",
			limit:    1,
			calls:    []clCall{clSource(7), clLabel("client_7"), clSource(8)},
			totals:   map[string]float64{"client_7": 2, registry.OverflowClientLabel: 1},
			tracked:  1,
			overflow: 1,
		},
		{
			name:     "a fixed label at the limit is no overflow",
			limit:    1,
			calls:    []clCall{clSource(1), clLabel(registry.OverflowClientLabel), clLabel(registry.UnknownClientLabel)},
			totals:   map[string]float64{"client_1": 1, registry.OverflowClientLabel: 1, registry.UnknownClientLabel: 1},
			tracked:  1,
			overflow: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []interceptor.Option
			if tt.limit > 0 {
				opts = append(opts, interceptor.WithClientLimit(tt.limit))
			}
			s := clNewStack(t, opts...)
			for _, c := range tt.calls {
				s.call(t, c)
			}
			assert.Equal(t, tt.totals, s.totals(t))
			assert.Equal(t, tt.tracked, s.own(t, "grpcmetrics_client_ids"))
			assert.Equal(t, tt.overflow, s.own(t, "grpcmetrics_client_id_overflow_total"))
		})
	}
}

// TestLongClientLabelsAreNotRetained names clients by labels 1 MiB long,
// as a rule that reads a header or a request field would for a hostile
// client. The client table must keep each as the value it exports, at most
// MaxClientIDLength bytes, not the raw label: 32 such clients used to pin
// 32 MiB. The calls go straight to the interceptor, with no gRPC buffers
// around to blur the heap.
func TestLongClientLabelsAreNotRetained(t *testing.T) {
	const (
		clients = 32
		long    = 1 << 20
	)
	f := newFixture(t, interceptor.WithClientID(func(_ context.Context, req any) interceptor.ClientID {
		return interceptor.Label(req.(string))
	}))
	_, err := f.call(rcMethod, "warm", returns(&status{}, nil))
	require.NoError(t, err)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range clients {
		// Valid and invalid UTF-8 alike; the first bytes tell them apart.
		tail := "x"
		if i%2 == 1 {
			tail = "\xff"
		}
		_, err := f.call(rcMethod, fmt.Sprintf("%03d", i)+strings.Repeat(tail, long), returns(&status{}, nil))
		require.NoError(t, err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)

	vec := f.metrics.RootCoord.CreateCollectionCounter
	assert.Equal(t, float64(clients+1), sum(t, vec, registry.TotalLabel))
	assert.Equal(t, 3*(clients+1), testutil.CollectAndCount(vec), "one client per label")
	// The series and the table's entries take a few KiB; one raw label
	// in eight kept would be 4 MiB.
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.Less(t, grown, int64(clients/8*long), "heap grew by %d bytes after %d clients with 1 MiB labels", grown, clients)
}

// TestLongClientLabelCostPerCall bounds what a known client's call costs
// when its raw label is long: the label is cut before it is repaired, so a
// call allocates at most the repaired cut value, whatever the raw length.
func TestLongClientLabelCostPerCall(t *testing.T) {
	const long = 1 << 20
	tests := []struct {
		name   string
		label  string
		allocs float64
	}{
		{"valid", strings.Repeat("é", long/2), 0},
		{"invalid", strings.Repeat("\xff", long), 1},
		{"invalid after a valid prefix", strings.Repeat("a", 100) + strings.Repeat("\xff", long), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, interceptor.WithClientID(func(_ context.Context, req any) interceptor.ClientID {
				return interceptor.Label(req.(string))
			}))
			icpt := f.ic.UnaryServerInterceptor()
			ctx, req, info, ok := context.Background(), any(tt.label), &grpc.UnaryServerInfo{FullMethod: rcMethod}, returns(&status{}, nil)
			call := func() {
				if _, err := icpt(ctx, req, info, ok); err != nil {
					panic(err)
				}
			}
			call() // admits the client
			assert.LessOrEqual(t, testing.AllocsPerRun(100, call), tt.allocs)

			const runs = 100
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range runs {
				call()
			}
			runtime.ReadMemStats(&after)
			perCall := (after.TotalAlloc - before.TotalAlloc) / runs
			assert.LessOrEqual(t, perCall, uint64(4*interceptor.MaxClientIDLength), "bytes allocated per call")

			got := sum(t, f.metrics.RootCoord.CreateCollectionCounter, registry.TotalLabel)
			assert.Equal(t, float64(1+1+100+runs), got, "every call counted")
		})
	}
}

// TestRemoveClientTakesTheClientID removes clients by the ClientID that
// names them: every ID exporting the client's label removes it, under every
// key it was reached by, so that its next call is admitted again into live
// series; another label (the bare SourceID "42") and the fixed clients
// remove nothing.
func TestRemoveClientTakesTheClientID(t *testing.T) {
	prefix := strings.Repeat("p", interceptor.MaxClientIDLength)
	tests := []struct {
		name    string
		calls   []clCall
		remove  interceptor.ClientID
		removed bool
		label   string // the removed client's label; "" if none
	}{
		{"SourceID", []clCall{clSource(42)}, interceptor.SourceID(42), true, "client_42"},
		{"the bare number is another client", []clCall{clSource(42)}, interceptor.Label("42"), false, ""},
		{"SourceID by its label", []clCall{clSource(7), clLabel("client_7")}, interceptor.Label("client_7"), true, "client_7"},
		{"label by its SourceID", []clCall{clLabel("client_7")}, interceptor.SourceID(7), true, "client_7"},
		{"long label by another with its prefix", []clCall{clLabel(prefix + "a")}, interceptor.Label(prefix + "b"), true, prefix},
		{"unknown", []clCall{{}}, interceptor.ClientID{}, false, ""},
		{"unknown by its label", []clCall{{}}, interceptor.Label(registry.UnknownClientLabel), false, ""},
		{"overflow by its label", []clCall{clLabel(registry.OverflowClientLabel)}, interceptor.Label(registry.OverflowClientLabel), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := clNewStack(t)
			for _, c := range tt.calls {
				s.call(t, c)
			}
			before, totals := s.own(t, "grpcmetrics_client_ids"), s.totals(t)
			assert.Equal(t, tt.removed, s.ic.RemoveClient(tt.remove))
			if !tt.removed {
				assert.Equal(t, before, s.own(t, "grpcmetrics_client_ids"))
				assert.Equal(t, totals, s.totals(t), "no series deleted")
				return
			}
			assert.Equal(t, before-1, s.own(t, "grpcmetrics_client_ids"))
			assert.NotContains(t, s.totals(t), tt.label, "series deleted")
			assert.False(t, s.ic.RemoveClient(tt.remove), "removed already")

			// The client's next calls, by every ID it was reached by, are
			// admitted again and counted in live series.
			for _, c := range tt.calls {
				s.call(t, c)
			}
			assert.Equal(t, float64(len(tt.calls)), s.totals(t)[tt.label])
			assert.Equal(t, before, s.own(t, "grpcmetrics_client_ids"))
		})
	}
}

// TestLabelCutsThenRepairs checks the label a Label exports: cut at a rune
// boundary to at most MaxClientIDLength bytes, counting each invalid byte
// as the 3 bytes of the U+FFFD that replaces it.
func TestLabelCutsThenRepairs(t *testing.T) {
	const limit = interceptor.MaxClientIDLength
	r := strings.Repeat
	tests := []struct {
		name, in, want string
	}{
		{"short", "abc", "abc"},
		{"exactly the limit", r("a", limit), r("a", limit)},
		{"one byte over", r("a", limit+1), r("a", limit)},
		{"two-byte runes", r("é", limit), r("é", limit/2)},
		{"a rune across the limit", "a" + r("é", limit/2), "a" + r("é", limit/2-1)},
		{"a four-byte rune across the limit", r("a", limit-2) + "😀", r("a", limit-2)},
		{"an invalid byte", "bad\xffutf8", "bad\uFFFDutf8"},
		{"each invalid byte", "a\xff\xfeb", "a\uFFFD\uFFFDb"},
		{"a truncated rune", "a\xe2\x82", "a\uFFFD\uFFFD"},
		{"invalid bytes count three each", r("\xff", limit), r("\uFFFD", limit/3)},
		{"no room for a replacement", r("a", limit-2) + "\xff", r("a", limit-2)},
		{"a valid U+FFFD stays", "x\uFFFD", "x\uFFFD"},
		{"empty is unknown", "", registry.UnknownClientLabel},
		{"the unknown label", registry.UnknownClientLabel, registry.UnknownClientLabel},
		{"the overflow label", registry.OverflowClientLabel, registry.OverflowClientLabel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := interceptor.Label(tt.in).String()
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), limit)
		})
	}
	assert.Equal(t, interceptor.ClientID{}, interceptor.Label(registry.UnknownClientLabel), "the unknown label is the unknown client")
	assert.Equal(t, interceptor.Label(r("a", limit)+"b"), interceptor.Label(r("a", limit)+"c"), "one label, one ClientID")
}

// TestKnownClientsAllocateNothing checks that a known client's call, by
// SourceID (small or large) or by a short label, and by an alias of a
// client admitted under the other kind of ID, allocates nothing.
func TestKnownClientsAllocateNothing(t *testing.T) {
	tests := []struct {
		name  string
		admit interceptor.ClientID
		call  interceptor.ClientID
	}{
		{"small SourceID", interceptor.SourceID(1), interceptor.SourceID(1)},
		{"large SourceID", interceptor.SourceID(1 << 40), interceptor.SourceID(1 << 40)},
		{"label", interceptor.Label("proxy-a"), interceptor.Label("proxy-a")},
		{"SourceID of a label", interceptor.Label("client_70000"), interceptor.SourceID(70000)},
		{"label of a SourceID", interceptor.SourceID(70000), interceptor.Label("client_70000")},
		{"the overflow label", interceptor.Label(registry.OverflowClientLabel), interceptor.Label(registry.OverflowClientLabel)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, interceptor.WithClientID(func(_ context.Context, req any) interceptor.ClientID {
				return req.(interceptor.ClientID)
			}))
			icpt := f.ic.UnaryServerInterceptor()
			ctx, info, ok := context.Background(), &grpc.UnaryServerInfo{FullMethod: rcMethod}, returns(&status{}, nil)
			_, err := icpt(ctx, tt.admit, info, ok)
			require.NoError(t, err)
			req := any(tt.call)
			assert.Zero(t, testing.AllocsPerRun(100, func() {
				if _, err := icpt(ctx, req, info, ok); err != nil {
					panic(err)
				}
			}))
			assert.Equal(t, 102.0, sum(t, f.metrics.RootCoord.CreateCollectionCounter, registry.TotalLabel))
		})
	}
}
