package bench

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"testing"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	grpcprometheus "github.com/grpc-ecosystem/go-grpc-prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

var (
	sinkResp any
	sinkErr  error
)

var (
	benchReq = &milvuspb.DescribeCollectionRequest{
		Base:           &commonpb.MsgBase{MsgType: commonpb.MsgType_DescribeCollection, SourceID: 1},
		CollectionName: "c",
	}
	okResp   = &milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{}, CollectionName: "c"}
	failResp = &milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{
		ErrorCode: commonpb.ErrorCode_CollectionNotExists, Reason: "collection not found",
	}}
	errHandler = errors.New("handler failed")
)

// runInterceptor calls icpt directly b.N times.
func runInterceptor(b *testing.B, icpt grpc.UnaryServerInterceptor, method string, h grpc.UnaryHandler) {
	ctx := context.Background()
	info := &grpc.UnaryServerInfo{FullMethod: method}
	icpt(ctx, benchReq, info, h) // resolve children and shape caches first
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		sinkResp, sinkErr = icpt(ctx, benchReq, info, h)
	}
}

// BenchmarkDirect calls each interceptor as a function with a no-op handler
// that returns a prebuilt response.
func BenchmarkDirect(b *testing.B) {
	ctx := context.Background()

	b.Run("handler-only", func(b *testing.B) {
		h := returns(okResp, nil)
		b.ReportAllocs()
		for b.Loop() {
			sinkResp, sinkErr = h(ctx, benchReq)
		}
	})

	// floor: the least any counting interceptor can do: find the method's
	// counters in a map and increment two pre-resolved counters.
	b.Run("floor", func(b *testing.B) {
		m := registry.New()
		type pair struct{ total, success prometheus.Counter }
		routes := map[string]*pair{rcMethod: {
			total:   m.RootCoord.DescribeCollectionCounter.WithLabelValues("client_1", registry.TotalLabel),
			success: m.RootCoord.DescribeCollectionCounter.WithLabelValues("client_1", registry.SuccessLabel),
		}}
		icpt := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			p, ok := routes[info.FullMethod]
			if !ok {
				return h(ctx, req)
			}
			p.total.Inc()
			resp, err := h(ctx, req)
			p.success.Inc()
			return resp, err
		}
		runInterceptor(b, icpt, rcMethod, returns(okResp, nil))
	})

	// seed-by-hand: what the seed's handlers did, two WithLabelValues(...).Inc()
	// calls per request (with a constant client label, so a lower bound).
	b.Run("seed-by-hand", func(b *testing.B) {
		m := registry.New()
		vec := m.RootCoord.DescribeCollectionCounter
		h := returns(okResp, nil)
		b.ReportAllocs()
		for b.Loop() {
			vec.WithLabelValues("client_1", registry.TotalLabel).Inc()
			sinkResp, sinkErr = h(ctx, benchReq)
			vec.WithLabelValues("client_1", registry.SuccessLabel).Inc()
		}
	})

	cases := []struct {
		name   string
		method string
		h      grpc.UnaryHandler
	}{
		{"success", rcMethod, returns(okResp, nil)},
		{"fail-status", rcMethod, returns(failResp, nil)},
		{"fail-error", rcMethod, returns(nil, errHandler)},
		{"unmapped", unmappedMethod, returns(okResp, nil)},
		{"proxy-success", proxyMethod, returns(okResp, nil)},
	}
	for _, md := range modes {
		for _, c := range cases {
			b.Run("grpcmetrics-"+md.name+"/"+c.name, func(b *testing.B) {
				_, ic, _ := newGRPCMetrics(b, md.opts...)
				runInterceptor(b, ic.UnaryServerInterceptor(), c.method, c.h)
			})
		}
	}

	b.Run("provider-counters", func(b *testing.B) {
		sm := grpcprom.NewServerMetrics()
		prometheus.NewRegistry().MustRegister(sm)
		runInterceptor(b, sm.UnaryServerInterceptor(), rcMethod, returns(okResp, nil))
	})
	b.Run("provider-histogram", func(b *testing.B) {
		sm := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
		prometheus.NewRegistry().MustRegister(sm)
		runInterceptor(b, sm.UnaryServerInterceptor(), rcMethod, returns(okResp, nil))
	})
	b.Run("go-grpc-prometheus", func(b *testing.B) {
		sm := grpcprometheus.NewServerMetrics()
		prometheus.NewRegistry().MustRegister(sm)
		runInterceptor(b, sm.UnaryServerInterceptor(), rcMethod, returns(okResp, nil))
	})
}

// runParallel calls icpt from GOMAXPROCS goroutines.
func runParallel(b *testing.B, icpt grpc.UnaryServerInterceptor) {
	ctx := context.Background()
	info := &grpc.UnaryServerInfo{FullMethod: rcMethod}
	h := returns(okResp, nil)
	icpt(ctx, benchReq, info, h)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var resp any
		var err error
		for pb.Next() {
			resp, err = icpt(ctx, benchReq, info, h)
		}
		_, _ = resp, err
	})
}

// BenchmarkParallel is BenchmarkDirect's success path from GOMAXPROCS
// goroutines, all on one method and one client (the most contended case).
func BenchmarkParallel(b *testing.B) {
	b.Run("handler-only", func(b *testing.B) {
		runParallel(b, func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(ctx, req)
		})
	})
	b.Run("grpcmetrics-func/success", func(b *testing.B) {
		_, ic, _ := newGRPCMetrics(b, funcOpts()...)
		runParallel(b, ic.UnaryServerInterceptor())
	})
	b.Run("provider-counters", func(b *testing.B) {
		sm := grpcprom.NewServerMetrics()
		prometheus.NewRegistry().MustRegister(sm)
		runParallel(b, sm.UnaryServerInterceptor())
	})
}

// BenchmarkE2E makes one unary DescribeCollection call per op to the example
// RootCoord over bufconn (client and server both in process). The collection
// does not exist, so every call returns a failing Milvus status.
func BenchmarkE2E(b *testing.B) {
	withOpts := func(opts func(b *testing.B) []grpc.ServerOption) func(b *testing.B) *grpc.Server {
		return func(b *testing.B) *grpc.Server { return rootcoord.New().NewGRPCServer(opts(b)...) }
	}
	cases := []struct {
		name   string
		server func(b *testing.B) *grpc.Server
	}{
		{"none", withOpts(func(*testing.B) []grpc.ServerOption { return nil })},
		// noop-interceptor isolates what gRPC itself spends once any unary
		// interceptor is installed.
		{"noop-interceptor", withOpts(func(*testing.B) []grpc.ServerOption {
			return []grpc.ServerOption{grpc.ChainUnaryInterceptor(
				func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
					return h(ctx, req)
				})}
		})},
		{"grpcmetrics-func", withOpts(func(b *testing.B) []grpc.ServerOption {
			_, ic, _ := newGRPCMetrics(b, funcOpts()...)
			return []grpc.ServerOption{grpc.ChainUnaryInterceptor(ic.UnaryServerInterceptor())}
		})},
		// grpcmetrics-func-registrar counts through Interceptor.Registrar
		// instead of an interceptor.
		{"grpcmetrics-func-registrar", func(b *testing.B) *grpc.Server {
			_, ic, _ := newGRPCMetrics(b, funcOpts()...)
			srv := grpc.NewServer()
			rootcoord.New().Register(ic.Registrar(srv))
			return srv
		}},
		{"provider-counters", withOpts(func(b *testing.B) []grpc.ServerOption {
			sm := grpcprom.NewServerMetrics()
			prometheus.NewRegistry().MustRegister(sm)
			return []grpc.ServerOption{grpc.ChainUnaryInterceptor(sm.UnaryServerInterceptor())}
		})},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			lis := bufconn.Listen(1 << 20)
			srv := c.server(b)
			go func() { _ = srv.Serve(lis) }()
			defer srv.Stop()
			conn, err := grpc.NewClient("passthrough:///bufnet",
				grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
				grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			client := rootcoordpb.NewRootCoordClient(conn)
			ctx := context.Background()
			req := &milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: 1}, CollectionName: "missing"}
			for range 100 { // connect and warm up caches
				if _, err := client.DescribeCollection(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := client.DescribeCollection(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScrape gathers and text-encodes, as promhttp does (without gzip),
// the 14 RootCoord counters holding 1,000 clients' series: once as the
// registry's counters filled by the interceptor (with the interceptor's own
// two metrics registered too, as deployed), once as those counters alone, and
// once as plain CounterVecs holding the same series and values.
func BenchmarkScrape(b *testing.B) {
	const clients = 1000
	m := registry.New()
	mm, err := methodmap.Default(m)
	if err != nil {
		b.Fatal(err)
	}
	ic, err := interceptor.New(mm, append(funcOpts(), interceptor.WithClientLimit(2000))...)
	if err != nil {
		b.Fatal(err)
	}
	icReg := prometheus.NewRegistry()
	countersReg := prometheus.NewRegistry() // the same 14 counters, without ic
	var rcVecs []*prometheus.CounterVec
	for _, e := range mm.Entries() {
		if e.Scheme == methodmap.ClientTypeScheme {
			rcVecs = append(rcVecs, e.Counter)
			icReg.MustRegister(e.Counter)
			countersReg.MustRegister(e.Counter)
		}
	}
	if len(rcVecs) != 14 {
		b.Fatalf("%d RootCoord counters, want 14", len(rcVecs))
	}
	icpt := ic.UnaryServerInterceptor()
	ctx := context.Background()
	for id := int64(1); id <= clients; id++ {
		req := &milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: id}}
		for i, e := range mm.Entries() {
			if e.Scheme != methodmap.ClientTypeScheme {
				continue
			}
			info := &grpc.UnaryServerInfo{FullMethod: e.Method}
			resp := okResp
			if (int(id)+i)%3 == 0 {
				resp = failResp
			}
			icpt(ctx, req, info, returns(resp, nil))
		}
	}

	// The plain side: the same series, rebuilt from a gather of the counters.
	mfs, err := icReg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	plainReg := prometheus.NewRegistry()
	series := 0
	for _, mf := range mfs {
		var labels []string
		for _, lp := range mf.Metric[0].Label {
			labels = append(labels, lp.GetName())
		}
		vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: mf.GetName(), Help: mf.GetHelp()}, labels)
		plainReg.MustRegister(vec)
		for _, mt := range mf.Metric {
			var lv []string
			for _, lp := range mt.Label {
				lv = append(lv, lp.GetValue())
			}
			vec.WithLabelValues(lv...).Add(mt.Counter.GetValue())
			series++
		}
	}
	icReg.MustRegister(ic)
	if series < clients*14*2 {
		b.Fatalf("only %d series", series)
	}

	scrape := func(b *testing.B, g prometheus.Gatherer) {
		var buf bytes.Buffer
		format := expfmt.NewFormat(expfmt.TypeTextPlain)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			buf.Reset()
			mfs, err := g.Gather()
			if err != nil {
				b.Fatal(err)
			}
			enc := expfmt.NewEncoder(&buf, format)
			for _, mf := range mfs {
				if err := enc.Encode(mf); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(series), "series")
		b.ReportMetric(float64(buf.Len()), "bytes")
	}
	b.Run("grpcmetrics-"+strconv.Itoa(clients)+"-clients", func(b *testing.B) { scrape(b, icReg) })
	b.Run("grpcmetrics-counters-only-"+strconv.Itoa(clients)+"-clients", func(b *testing.B) { scrape(b, countersReg) })
	b.Run("plain-countervec-"+strconv.Itoa(clients)+"-clients", func(b *testing.B) { scrape(b, plainReg) })
}
