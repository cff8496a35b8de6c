package grpcmetrics_test

import (
	"context"
	"log"
	"strings"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/examples/datanode"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// logPanic is recovery's handler in the examples: it logs a handler's
// panic on the server, and the client learns nothing but Internal.
func logPanic(p any) error {
	log.Printf("handler panic: %v", p)
	return status.Error(codes.Internal, "internal error")
}

// A Milvus server counted into Milvus v2.0's own counters: register the
// collectors, build the method table over them, and give the counters to a
// server install. README.md shows this function's body.
func Example_milvusCounters() {
	reg := prometheus.NewRegistry()
	m := registry.New() // Milvus v2.0's collectors, created but not yet registered
	if err := m.Register(reg); err != nil {
		log.Fatal(err)
	}
	methods, err := methodmap.Default(m) // Milvus v2.0's table: 49 methods, 4 services
	if err != nil {
		log.Fatal(err)
	}
	ic, err := interceptor.NewMilvusCounters(methods)
	if err != nil {
		log.Fatal(err)
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic})
	if err != nil {
		log.Fatal(err)
	}
	if err := install.Register(reg); err != nil { // the counters' own two metrics
		log.Fatal(err)
	}
	srv := grpc.NewServer(install.ServerOptions()...) // inside recovery in a real server: see Example_anyService
	rootcoord.New().Register(srv)                     // your services
	if err := install.Init(srv); err != nil {         // after registering the services, before serving
		log.Fatal(err)
	}
	// Output:
}

// Any gRPC service counted under go-grpc-middleware's provider names, with
// the latency histogram on. README.md shows this function's body.
func Example_anyService() {
	reg := prometheus.NewRegistry()
	sm, err := interceptor.NewServerMetrics()
	if err != nil {
		log.Fatal(err)
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm},
		interceptor.WithHistogram(interceptor.Histogram{}))
	if err != nil {
		log.Fatal(err)
	}
	if err := install.Register(reg); err != nil {
		log.Fatal(err)
	}
	onPanic := recovery.WithRecoveryHandler(logPanic)
	srv := grpc.NewServer(append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(onPanic)),
		grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(onPanic)),
	}, install.ServerOptions()...)...) // the install inside recovery
	healthpb.RegisterHealthServer(srv, health.NewServer()) // your services
	// Init is required: after registering the services, before serving.
	if err := install.Init(srv); err != nil {
		log.Fatal(err)
	}
	// Output:
}

// A client's calls counted as grpc_client_*, with the response-body rule
// that finds Milvus statuses that fail inside an OK call. README.md shows
// this function's body.
func Example_client() {
	reg := prometheus.NewRegistry()
	cm, err := interceptor.NewClientMetrics()
	if err != nil {
		log.Fatal(err)
	}
	install, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm},
		interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()),
		interceptor.WithHistogram(interceptor.Histogram{}),
	)
	if err != nil {
		log.Fatal(err)
	}
	if err := install.Register(reg); err != nil {
		log.Fatal(err)
	}
	conn, err := grpc.NewClient("localhost:53100", append(install.DialOptions(), // once per connection
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close() // every call on conn is counted
	// Output:
}

// go-grpc-middleware's selector in front of ServerMetrics: every method is
// counted except health checks and reflection. docs/wiring.md shows this
// function's body.
func Example_selector() {
	sm, err := interceptor.NewServerMetrics()
	if err != nil {
		log.Fatal(err)
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm})
	if err != nil {
		log.Fatal(err)
	}
	counted := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		return c.Service != healthpb.Health_ServiceDesc.ServiceName && !strings.HasPrefix(c.Service, "grpc.reflection.")
	})
	// The install's interceptors taken one by one, to place them behind
	// the selector: the install has no stats handler to leave out.
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(selector.UnaryServerInterceptor(install.UnaryServerInterceptor(), counted)),
		grpc.ChainStreamInterceptor(selector.StreamServerInterceptor(install.StreamServerInterceptor(), counted)),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	if err := install.Init(srv); err != nil {
		log.Fatal(err)
	}
	// Output:
}

// Switching from go-grpc-middleware's provider: the provider's lines are in
// the comments. docs/migrating.md shows this function's body.
func Example_fromProvider() {
	reg := prometheus.NewRegistry()
	// before: srvMetrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	sm, err := interceptor.NewServerMetrics(
		interceptor.WithInitialSeries(), // every method's series at zero, as InitializeMetrics did
	)
	if err != nil {
		log.Fatal(err)
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm},
		interceptor.WithHistogram(interceptor.Histogram{})) // the install's: the histogram, the status rule, the logger
	if err != nil {
		log.Fatal(err)
	}
	if err := install.Register(reg); err != nil { // before: reg.MustRegister(srvMetrics)
		log.Fatal(err)
	}
	onPanic := recovery.WithRecoveryHandler(func(p any) error {
		log.Printf("handler panic: %v", p) // on the server; the client learns nothing
		return status.Error(codes.Internal, "internal error")
	})
	srv := grpc.NewServer(append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(onPanic)),
		grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(onPanic)),
	}, install.ServerOptions()...)...) // before: srvMetrics.UnaryServerInterceptor() and the stream one
	healthpb.RegisterHealthServer(srv, health.NewServer())
	if err := install.Init(srv); err != nil { // before: srvMetrics.InitializeMetrics(srv), which was optional
		log.Fatal(err)
	}
	// Output:
}

// On a Milvus newer than v2.0, Milvus v2.0's counters count the methods
// their table maps, and the provider's families count every method, both
// from one install (interceptor.NewServerInstall), which reads each call's status
// and clock once and gives both sets one latency histogram.
// docs/wiring.md shows this function's body.
func Example_newerMilvus() {
	reg := prometheus.NewRegistry()
	m := registry.New()
	if err := m.Register(reg); err != nil {
		log.Fatal(err)
	}
	methods, err := methodmap.Default(m)
	if err != nil {
		log.Fatal(err)
	}
	ic, err := interceptor.NewMilvusCounters(methods) // Milvus v2.0's counters
	if err != nil {
		log.Fatal(err)
	}
	sm, err := interceptor.NewServerMetrics() // the provider's families
	if err != nil {
		log.Fatal(err)
	}
	both, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic, Provider: sm},
		interceptor.WithHistogram(interceptor.Histogram{})) // latency for both
	if err != nil {
		log.Fatal(err)
	}
	if err := both.Register(reg); err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(both.ServerOptions()...)
	proxy.New().Register(srv) // your services
	rootcoord.New().Register(srv)
	datanode.New().Register(srv)
	if err := both.Init(srv); err != nil {
		log.Fatal(err)
	}
	if cov := methods.Check(srv); !cov.OK() { // information, not a reason to stop
		log.Printf("Milvus v2.0's table and this server differ:\n%s", cov)
	}
	// Output:
}

// Latency with exemplars: each observation of the handling-time histogram
// carries the trace ID the caller sent, and /metrics is served in
// OpenMetrics, the only text format that carries exemplars.
// docs/wiring.md shows this function's body.
func Example_exemplars() {
	reg := prometheus.NewRegistry()
	traceID := func(ctx context.Context) string {
		if v := metadata.ValueFromIncomingContext(ctx, "trace-id"); len(v) > 0 {
			return v[0]
		}
		return "" // no exemplar
	}
	sm, err := interceptor.NewServerMetrics()
	if err != nil {
		log.Fatal(err)
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm},
		interceptor.WithHistogram(interceptor.Histogram{
			Exemplar: &interceptor.Exemplar{Label: "trace_id", Value: traceID},
		}))
	if err != nil {
		log.Fatal(err)
	}
	if err := install.Register(reg); err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(install.ServerOptions()...)
	healthpb.RegisterHealthServer(srv, health.NewServer()) // your services
	if err := install.Init(srv); err != nil {
		log.Fatal(err)
	}
	// OpenMetrics also changes the series Prometheus stores: bucket bounds
	// become le="1.0", and counters without _total are typed unknown.
	metrics, err := httpserver.New(reg, httpserver.Options{Addr: "127.0.0.1:0", OpenMetrics: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := metrics.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() {
		if err := metrics.Shutdown(context.Background()); err != nil {
			log.Print(err)
		}
	}()
	// Output:
}
