package interceptor_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// mpPairs returns, for every (db_name, collection_name) of
// milvus_proxy_req_count on reg, the number of its series, and checks that
// every such value is valid UTF-8 of at most 255 bytes.
func mpPairs(t *testing.T, reg prometheus.Gatherer) map[[2]string]int {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	pairs := map[[2]string]int{}
	for _, mf := range mfs {
		if mf.GetName() != "milvus_proxy_req_count" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			var p [2]string
			for _, lp := range mt.GetLabel() {
				switch lp.GetName() {
				case "db_name":
					p[0] = lp.GetValue()
				case "collection_name":
					p[1] = lp.GetValue()
				}
			}
			for _, v := range p {
				assert.LessOrEqual(t, len(v), 255, "a label value of at most 255 bytes")
				assert.True(t, utf8.ValidString(v), "a label value of valid UTF-8: %q", v)
			}
			pairs[p]++
		}
	}
	return pairs
}

// mpCheckBound checks the documented bound of a set with the given limit
// that counted methods methods: grpcmetrics_collections equals the number
// of pairs exported besides ("", "") and the overflow pair, which is at
// most limit, and milvus_proxy_req_count holds at most
// methods × (limit + 2) × 5 series.
func mpCheckBound(t *testing.T, reg prometheus.Gatherer, limit, methods int) {
	t.Helper()
	of := interceptor.OverflowCollectionLabel
	exported, series := 0, 0
	for p, n := range mpPairs(t, reg) {
		series += n
		if p != [2]string{} && p != [2]string{of, of} {
			exported++
		}
	}
	assert.LessOrEqual(t, exported, limit, "pairs exported")
	assert.Equal(t, float64(exported), mxGet(t, reg, "grpcmetrics_collections", nil), "one kept pair, one exported pair")
	assert.LessOrEqual(t, series, methods*(limit+2)*5, "series of milvus_proxy_req_count")
}

// TestMilvus26PairIsItsLabels checks that a pair is kept under the label
// values it exports: two names that export the same values are one pair,
// with one place under the limit, and removing either removes it, so that
// the calls after the removal count in new series.
func TestMilvus26PairIsItsLabels(t *testing.T) {
	prefix := strings.Repeat("p", 255)
	long := func(i int) string { return prefix + fmt.Sprintf("-%02d", i) }
	of := interceptor.OverflowCollectionLabel
	tests := []struct {
		name      string
		limit     int
		kept      []string // collection names called once each, in order
		remove    string   // then removed, unless ""
		removed   bool     // what RemoveCollection reports
		after     string   // then called three times
		wantLabel string   // the collection_name of after's series
		wantKept  float64  // grpcmetrics_collections at the end
	}{
		{"long names sharing 255 bytes", 16, []string{long(1), long(2)}, long(1), true, long(2), prefix, 1},
		{"a repaired name", 16, []string{"x\xff"}, "x\uFFFD", true, "x\xff", "x\uFFFD", 1},
		{"the repaired name removes the raw one", 16, []string{"x\uFFFD"}, "x\xfe\xff", true, "x\uFFFD", "x\uFFFD", 1},
		{"a flood of one prefix takes one place", 16,
			[]string{long(0), long(1), long(2), long(3), long(4), long(5), long(6), long(7),
				long(8), long(9), long(10), long(11), long(12), long(13), long(14), long(15)},
			"", false, "other", "other", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m26, err := interceptor.LegacyMilvus26(interceptor.WithCollectionLimit(tt.limit))
			require.NoError(t, err)
			require.NoError(t, m26.Register(reg))
			icpt := m26.UnaryServerInterceptor()
			info := &grpc.UnaryServerInfo{FullMethod: "/x.Y/M"}
			ok := func(context.Context, any) (any, error) { return nil, nil }
			call := func(coll string) {
				_, err := icpt(context.Background(), mxNamed{"db", coll}, info, ok)
				require.NoError(t, err)
			}
			for _, c := range tt.kept {
				call(c)
			}
			if tt.remove != "" {
				assert.Equal(t, tt.removed, m26.RemoveCollection("db", tt.remove))
				mpCheckBound(t, reg, tt.limit, 1)
			}
			for range 3 {
				call(tt.after)
			}
			assert.Equal(t, 3.0, mxGet(t, reg, "milvus_proxy_req_count", mxReq("0", "M", "total", "db", tt.wantLabel)), "total")
			assert.Equal(t, 3.0, mxGet(t, reg, "milvus_proxy_req_count", mxReq("0", "M", "success", "db", tt.wantLabel)), "success")
			assert.Equal(t, 0.0, mxGet(t, reg, "milvus_proxy_req_count", mxReq("0", "M", "total", of, of)), "nothing overflows")
			assert.Equal(t, 0.0, mxGet(t, reg, "grpcmetrics_collection_overflow_total", nil))
			assert.Equal(t, tt.wantKept, mxGet(t, reg, "grpcmetrics_collections", nil))
			mpCheckBound(t, reg, tt.limit, 1)
		})
	}
}

// TestMilvus26FloodKeepsBound floods a set with names that share long
// prefixes, that differ only in bytes that are not UTF-8, and short ones,
// over three methods, while another goroutine removes them under other
// spellings of the same labels; the bound holds after the flood, and
// once everything is removed only the overflow pair's series are left.
func TestMilvus26FloodKeepsBound(t *testing.T) {
	const limit, methods = 8, 3
	reg := prometheus.NewPedanticRegistry()
	m26, err := interceptor.LegacyMilvus26(interceptor.WithCollectionLimit(limit))
	require.NoError(t, err)
	require.NoError(t, m26.Register(reg))
	icpt := m26.UnaryServerInterceptor()
	ok := func(context.Context, any) (any, error) { return nil, nil }
	prefix := strings.Repeat("f", 254)
	// name returns the i-th name of the flood (24 labels, each with
	// several spellings); label, another spelling of the same labels.
	name := func(i int) (db, coll string) {
		switch k := i % 24; {
		case k < 8:
			return "db", prefix + fmt.Sprint(k) + strings.Repeat("z", i%7) // 255 bytes exported
		case k < 16:
			return "db\xff" + strings.Repeat("\xfe", i%5), fmt.Sprint(k) // "db\uFFFD"
		default:
			return fmt.Sprint(k), "c"
		}
	}
	spelling := func(i int) (db, coll string) {
		switch k := i % 24; {
		case k < 8:
			return "db", prefix + fmt.Sprint(k)
		case k < 16:
			return "db\uFFFD", fmt.Sprint(k)
		default:
			return fmt.Sprint(k), "c"
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 600 {
				db, coll := name(g*600 + i)
				info := &grpc.UnaryServerInfo{FullMethod: fmt.Sprintf("/x.Y/M%d", i%methods)}
				//nolint:errcheck // counted
				icpt(context.Background(), mxNamed{db, coll}, info, ok)
			}
		})
	}
	wg.Go(func() {
		for i := range 600 {
			m26.RemoveCollection(spelling(i))
		}
	})
	wg.Wait()
	mpCheckBound(t, reg, limit, methods)
	for i := range 24 {
		m26.RemoveCollection(spelling(i))
	}
	assert.Zero(t, mxGet(t, reg, "grpcmetrics_collections", nil))
	for p := range mpPairs(t, reg) {
		assert.Equal(t, [2]string{interceptor.OverflowCollectionLabel, interceptor.OverflowCollectionLabel}, p, "only the overflow pair is left")
	}
	mpCheckBound(t, reg, limit, methods)
}

// TestMilvus26LabelValues checks the db_name and collection_name values a
// name exports: each run of bytes that are not UTF-8 becomes one U+FFFD,
// then the value is cut to at most 255 bytes at a rune boundary.
func TestMilvus26LabelValues(t *testing.T) {
	a := strings.Repeat("a", 254)
	tests := []struct{ name, in, want string }{
		{"short", "books", "books"},
		{"255 bytes", a + "b", a + "b"},
		{"256 bytes", a + "bc", a + "b"},
		{"a rune across the cut", a + "é", a},
		{"a rune up to the cut", a[:252] + "€", a[:252] + "€"},
		{"a run of invalid bytes is one U+FFFD", "a\xff\xfe\xfdb\xffc", "a\uFFFDb\uFFFDc"},
		{"U+FFFD itself", "a\uFFFDb", "a\uFFFDb"},
		{"repaired, then cut", strings.Repeat("\xffA", 200), strings.Repeat("\uFFFDA", 63) + "\uFFFD"},
		{"a long run, then a name", strings.Repeat("\xff", 1000) + "c", "\uFFFDc"},
		{"an invalid byte across the cut", a + "\xff", a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.LessOrEqual(t, len(tt.want), 255)
			reg := prometheus.NewPedanticRegistry()
			m26, err := interceptor.LegacyMilvus26()
			require.NoError(t, err)
			require.NoError(t, m26.Register(reg))
			icpt := m26.UnaryServerInterceptor()
			info := &grpc.UnaryServerInfo{FullMethod: "/x.Y/M"}
			ok := func(context.Context, any) (any, error) { return nil, nil }
			_, err = icpt(context.Background(), mxNamed{tt.in, tt.in}, info, ok)
			require.NoError(t, err)
			assert.Equal(t, map[[2]string]int{{tt.want, tt.want}: 2}, mpPairs(t, reg), "total and success, under the repaired and cut values")
			if len(tt.in) <= 255 && utf8.ValidString(tt.in) {
				return
			}
			var req any = mxNamed{tt.in, tt.in}
			if utf8.ValidString(tt.in) {
				assert.Zero(t, testing.AllocsPerRun(100, func() {
					_, _ = icpt(context.Background(), req, info, ok) //nolint:errcheck // measured
				}), "a kept long name that is valid UTF-8 allocates nothing")
			}
			assert.True(t, m26.RemoveCollection(tt.in, tt.in))
			assert.Empty(t, mpPairs(t, reg), "removed under the name its calls bring")
		})
	}
}

// TestMilvus26KeepsLabelsNotNames keeps 64 pairs of names of 1 MiB each,
// from requests released after their call, and checks that the set holds
// less than 1 MiB for them: what their labels need, not the names.
func TestMilvus26KeepsLabelsNotNames(t *testing.T) {
	const pairs, size = 64, 1 << 20
	reg := prometheus.NewPedanticRegistry()
	m26, err := interceptor.LegacyMilvus26()
	require.NoError(t, err)
	require.NoError(t, m26.Register(reg))
	icpt := m26.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.milvus.MilvusService/HasCollection"}
	ok := func(context.Context, any) (any, error) { return nil, nil }
	call := func(i int) {
		// The index first: each pair exports labels of its own.
		req := &milvuspb.HasCollectionRequest{
			DbName:         fmt.Sprintf("%03d", i) + strings.Repeat("d", size-3),
			CollectionName: fmt.Sprintf("%03d", i) + strings.Repeat("c", size-3),
		}
		_, err := icpt(context.Background(), req, info, ok)
		require.NoError(t, err)
	}
	call(pairs) // the method's route, and the families' first series
	require.True(t, m26.RemoveCollection(fmt.Sprintf("%03d", pairs)+strings.Repeat("d", size-3), fmt.Sprintf("%03d", pairs)+strings.Repeat("c", size-3)))
	before := mpHeap()
	for i := range pairs {
		call(i)
	}
	after := mpHeap()
	runtime.KeepAlive(m26)
	assert.Equal(t, float64(pairs), mxGet(t, reg, "grpcmetrics_collections", nil))
	assert.Len(t, mpPairs(t, reg), pairs)
	t.Logf("the set holds %d bytes for %d pairs of names of %d bytes", after-before, pairs, size)
	assert.Less(t, after-before, int64(1<<20), "bytes the set holds for %d pairs of names of %d bytes", pairs, size)
}

// mpHeap returns the bytes of live heap objects after a collection.
func mpHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
