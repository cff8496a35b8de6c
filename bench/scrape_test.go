package bench

import (
	"bytes"
	"context"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// gatherClients is how many distinct SourceIDs call each RootCoord method.
const gatherClients = 1000

// gatherRoute is one of the 14 RootCoord routes counted on {client_id, type},
// in methodmap order, with its counter's name and help text.
type gatherRoute struct {
	method     string
	index      int // position in methodmap's Entries, which picks failing calls
	name, help string
}

// gatherFails reports whether client id's call of the route at index fails:
// about a third of the calls.
func gatherFails(id int64, index int) bool { return (int(id)+index)%3 == 0 }

// gatherRoutes reads the RootCoord client-scheme routes from the default
// method map of a throwaway registry. The probe child it creates to read the
// counters' name and help is never seen by either side's fill.
func gatherRoutes(b *testing.B) []gatherRoute {
	b.Helper()
	m := registry.New()
	require.NoError(b, m.Register(prometheus.NewRegistry())) // methodmap.Default wants registered counters
	mm, err := methodmap.Default(m)
	require.NoError(b, err)
	var routes []gatherRoute
	for i, e := range mm.Entries() {
		if e.Scheme != methodmap.ClientTypeScheme {
			continue
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(e.Counter)
		e.Counter.WithLabelValues("probe", registry.TotalLabel)
		mfs, err := reg.Gather()
		require.NoError(b, err)
		require.Len(b, mfs, 1, e.Method)
		require.Len(b, mfs[0].Metric, 1, e.Method)
		var labels []string
		for _, lp := range mfs[0].Metric[0].Label {
			labels = append(labels, lp.GetName())
		}
		require.Equal(b, []string{registry.LabelClientID, registry.LabelType}, labels, e.Method)
		routes = append(routes, gatherRoute{method: e.Method, index: i, name: mfs[0].GetName(), help: mfs[0].GetHelp()})
	}
	require.Len(b, routes, 14, "RootCoord counters")
	return routes
}

// buildGRPCMetricsGather returns a registry of registry.New()'s 14 RootCoord
// counters (and, if withCollector, the interceptor's own collector, as
// deployed), filled by calling an interceptor once per client and
// route: for each client, each route in methodmap order, with the default
// rules.
func buildGRPCMetricsGather(b *testing.B, routes []gatherRoute, withCollector bool) prometheus.Gatherer {
	b.Helper()
	m := registry.New()
	require.NoError(b, m.Register(prometheus.NewRegistry())) // methodmap.Default wants registered counters; reg below holds only the 14 counters
	mm, err := methodmap.Default(m)
	require.NoError(b, err)
	ic, err := interceptor.NewMilvusCounters(mm, interceptor.WithClientLimit(2000))
	require.NoError(b, err)
	reg := prometheus.NewRegistry()
	entries := mm.Entries()
	for _, r := range routes {
		require.Equal(b, r.method, entries[r.index].Method, "entry %d", r.index)
		reg.MustRegister(entries[r.index].Counter)
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic})
	require.NoError(b, err)
	if withCollector {
		require.NoError(b, install.Register(reg))
	}
	require.NoError(b, install.Init(benchServices{}))
	icpt := install.UnaryServerInterceptor()
	ctx := context.Background()
	for id := int64(1); id <= gatherClients; id++ {
		req := &milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: id}}
		for _, r := range routes {
			resp := okResp
			if gatherFails(id, r.index) {
				resp = failResp
			}
			_, err := icpt(ctx, req, &grpc.UnaryServerInfo{FullMethod: r.method}, returns(resp, nil))
			require.NoError(b, err)
		}
	}
	return reg
}

// buildPlainGather returns a registry of 14 fresh CounterVecs with the same
// names, help and labels, filled by hand in the interceptor's call order: for
// each client, each route in methodmap order, Inc of "total" then of
// "success" or "fail". On a client's first call of a route the interceptor
// resolves all three children (total, success, fail, in that order), so a
// route a client never failed still exposes a fail series at 0; the plain
// fill resolves the same three children in the same order, so both sides
// create the same children in the same interleaved sequence and expose the
// same 42,000 series.
func buildPlainGather(b *testing.B, routes []gatherRoute) prometheus.Gatherer {
	b.Helper()
	reg := prometheus.NewRegistry()
	vecs := make([]*prometheus.CounterVec, len(routes))
	for k, r := range routes {
		vecs[k] = prometheus.NewCounterVec(prometheus.CounterOpts{Name: r.name, Help: r.help},
			[]string{registry.LabelClientID, registry.LabelType})
		reg.MustRegister(vecs[k])
	}
	for id := int64(1); id <= gatherClients; id++ {
		client := registry.ClientLabel(id)
		for k, r := range routes {
			vec := vecs[k]
			total := vec.WithLabelValues(client, registry.TotalLabel)
			success := vec.WithLabelValues(client, registry.SuccessLabel)
			fail := vec.WithLabelValues(client, registry.FailLabel)
			total.Inc()
			if gatherFails(id, r.index) {
				fail.Inc()
			} else {
				success.Inc()
			}
		}
	}
	return reg
}

// gatherText gathers g and text-encodes the families that keep accepts,
// returning the text and the number of series encoded.
func gatherText(b *testing.B, g prometheus.Gatherer, keep func(name string) bool) ([]byte, int) {
	b.Helper()
	mfs, err := g.Gather()
	require.NoError(b, err)
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	series := 0
	for _, mf := range mfs {
		if !keep(mf.GetName()) {
			continue
		}
		require.NoError(b, enc.Encode(mf))
		series += len(mf.Metric)
	}
	return buf.Bytes(), series
}

// scrape gathers g and text-encodes every family into buf, as promhttp does
// (without gzip).
func scrape(b *testing.B, g prometheus.Gatherer, buf *bytes.Buffer) {
	buf.Reset()
	mfs, err := g.Gather()
	require.NoError(b, err)
	enc := expfmt.NewEncoder(buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		require.NoError(b, enc.Encode(mf))
	}
}

// BenchmarkGather gathers and text-encodes, as promhttp does (without gzip),
// the 14 RootCoord counters holding 1,000 clients' series (42,000 series):
// registry.New()'s counters filled through the interceptor, with and without
// the interceptor's own collector, and plain CounterVecs filled by hand in
// the same call order. Each case builds its own side inside its sub-benchmark,
// so no fill shares a heap neighbourhood with another, and checks that the
// 14 counters' text is byte-identical to the plain side's before timing.
func BenchmarkGather(b *testing.B) {
	routes := gatherRoutes(b)
	names := make(map[string]bool, len(routes))
	for _, r := range routes {
		names[r.name] = true
	}
	rootCoord := func(name string) bool { return names[name] }

	want, wantSeries := gatherText(b, buildPlainGather(b, routes), rootCoord)
	require.Equal(b, gatherClients*len(routes)*3, wantSeries, "series of the plain side")
	got, _ := gatherText(b, buildGRPCMetricsGather(b, routes, true), rootCoord)
	require.True(b, bytes.Equal(got, want), "grpcmetrics and plain text differ (%d vs %d bytes)", len(got), len(want))

	suffix := "-" + strconv.Itoa(gatherClients) + "-clients"
	cases := []struct {
		name  string
		build func(*testing.B) prometheus.Gatherer
	}{
		{"grpcmetrics", func(b *testing.B) prometheus.Gatherer { return buildGRPCMetricsGather(b, routes, true) }},
		{"grpcmetrics-counters-only", func(b *testing.B) prometheus.Gatherer { return buildGRPCMetricsGather(b, routes, false) }},
		{"plain-countervec", func(b *testing.B) prometheus.Gatherer { return buildPlainGather(b, routes) }},
	}
	for _, c := range cases {
		b.Run(c.name+suffix, func(b *testing.B) {
			g := c.build(b)
			got, _ := gatherText(b, g, rootCoord)
			require.True(b, bytes.Equal(got, want), "RootCoord counters' text differs from the plain side's (%d vs %d bytes)", len(got), len(want))
			_, series := gatherText(b, g, func(string) bool { return true })
			runtime.GC() // leave no garbage of the build or check to the timed loop

			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				scrape(b, g, &buf)
			}
			b.ReportMetric(float64(series), "series")
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}

	// interleaved: two plain sides and the deployed grpcmetrics side, built
	// in the order plain-A, grpcmetrics, plain-B, then scraped in rounds of one
	// scrape each, the side that starts a round rotating every round, so
	// drift of this shared machine falls on all three alike. ns/op covers
	// all the scrapes of an op. The metrics are medians over the sample's
	// scrapes: grpcmetrics's and the two plain sides' (pooled) scrape times,
	// their ratio, and plain-B's over plain-A's: the control, two identical
	// builds whose ratio shows how far placement and noise alone move it.
	b.Run("interleaved"+suffix, func(b *testing.B) {
		const roundsPerOp = 6
		sides := []prometheus.Gatherer{
			buildPlainGather(b, routes),
			buildGRPCMetricsGather(b, routes, true),
			buildPlainGather(b, routes),
		}
		runtime.GC()
		var buf bytes.Buffer
		times := make([][]time.Duration, len(sides))
		round := 0
		b.ReportAllocs()
		for b.Loop() {
			for range roundsPerOp {
				for k := range sides {
					j := (k + round) % len(sides)
					start := time.Now()
					scrape(b, sides[j], &buf)
					times[j] = append(times[j], time.Since(start))
				}
				round++
			}
		}
		plainA, gm, plainB := median(times[0]), median(times[1]), median(times[2])
		plain := median(append(slices.Clone(times[0]), times[2]...))
		b.ReportMetric(float64(gm)/1e6, "grpcmetrics-ms")
		b.ReportMetric(float64(plain)/1e6, "plain-ms")
		b.ReportMetric(float64(gm)/float64(plain), "grpcmetrics/plain")
		b.ReportMetric(float64(plainB)/float64(plainA), "plainB/plainA")
	})
}

// median returns the median of ds, which it leaves unchanged.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
