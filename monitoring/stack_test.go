package monitoring_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpcmetrics/grpcmetrics/examples/datanode"
	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/recoverylog"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// sourceIDs is how many clients the generic stack's traffic comes from:
// SourceIDs 1 to sourceIDs.
const sourceIDs = 4

// stack is the example proxy, rootcoord and data node services on one gRPC
// server, served in memory, with a /metrics endpoint on loopback TCP for a
// real Prometheus to scrape.
type stack struct {
	metrics string        // host:port of /metrics
	methods []unaryMethod // every unary method the server registers
}

// unaryMethod is a method to call and how to build its messages.
type unaryMethod struct {
	conn     *grpc.ClientConn
	fullName string
	in, out  protoreflect.MessageType
}

// newGenericStack counts with grpcmetrics' own ServerMetrics, the names the
// generic flavour reads: the provider's grpc_server_* families, the
// handling-time histogram, and grpcmetrics_server_response_failed_total,
// which the Milvus status rule moves for calls that answer OK with a failing
// status in the body. Its client connection is counted by ClientMetrics on
// the same registry: the grpc_client_* families that the dashboards'
// outgoing-calls panels read.
//
// /metrics is served in OpenMetrics, to a scraper that asks for it, if
// openMetrics is set.
func newGenericStack(t *testing.T, openMetrics bool) *stack {
	t.Helper()
	return newGenericStackWith(t, openMetrics, interceptor.Histogram{})
}

// newGenericStackWith is newGenericStack with the histogram h on both
// sides.
func newGenericStackWith(t *testing.T, openMetrics bool, h interceptor.Histogram) *stack {
	t.Helper()
	reg := prometheus.NewRegistry()
	status := interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]())
	latency := interceptor.WithHistogram(h)
	sm, err := interceptor.NewServerMetrics()
	require.NoError(t, err)
	install := serverInstall(t, reg, interceptor.ServerSets{Provider: sm}, status, latency)
	srv := grpc.NewServer(withRecovery(install)...)
	proxy.New().Register(srv)
	rootcoord.New().Register(srv)
	datanode.New().Register(srv)
	require.NoError(t, install.Init(srv))
	// The traffic's own calls are counted too, under the client names, as
	// a service's calls to another would be.
	conn := serveInMemory(t, srv, clientInstall(t, reg, status, latency).DialOptions()...)
	methods, err := unaryMethods(conn, srv)
	require.NoError(t, err)

	return &stack{metrics: promtest.ServeMetricsWith(t, reg, httpserver.Options{OpenMetrics: openMetrics}), methods: methods}
}

// prNewMilvusStack counts, like the demo, into the Milvus v2.0 counters of the
// built-in table (the names the Milvus flavour reads), with the latency
// histogram, clients by SourceID under a limit below sourceIDs (so that the
// overflow counter moves) and the traffic's own calls counted by
// ClientMetrics. /metrics is served in OpenMetrics, to a scraper that asks
// for it, if openMetrics is set.
func prNewMilvusStack(t *testing.T, openMetrics bool) *stack {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := registry.New()
	require.NoError(t, m.Register(reg))
	table, err := methodmap.Default(m)
	require.NoError(t, err)
	status := interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]())
	latency := interceptor.WithHistogram(interceptor.Histogram{})
	ic, err := interceptor.NewMilvusCounters(table,
		interceptor.WithClientID(interceptor.MilvusSourceID[*commonpb.MsgBase]()),
		interceptor.WithClientLimit(demoClientLimit),
	)
	require.NoError(t, err)
	install := serverInstall(t, reg, interceptor.ServerSets{Milvus: ic}, status, latency)
	srv := grpc.NewServer(withRecovery(install)...)
	proxy.New().Register(srv)
	rootcoord.New().Register(srv)
	datanode.New().Register(srv)
	require.NoError(t, install.Init(srv))
	conn := serveInMemory(t, srv, clientInstall(t, reg, status, latency).DialOptions()...)
	methods, err := unaryMethods(conn, srv)
	require.NoError(t, err)
	return &stack{metrics: promtest.ServeMetricsWith(t, reg, httpserver.Options{OpenMetrics: openMetrics}), methods: methods}
}

// serverInstall returns an install of sets with opts, registered on reg.
func serverInstall(t *testing.T, reg prometheus.Registerer, sets interceptor.ServerSets, opts ...interceptor.InstallOption) *interceptor.ServerInstall {
	t.Helper()
	install, err := interceptor.NewServerInstall(sets, opts...)
	require.NoError(t, err)
	require.NoError(t, install.Register(reg))
	return install
}

// clientInstall returns an install of new client metrics with opts,
// registered on reg.
func clientInstall(t *testing.T, reg prometheus.Registerer, opts ...interceptor.InstallOption) *interceptor.ClientInstall {
	t.Helper()
	cm, err := interceptor.NewClientMetrics()
	require.NoError(t, err)
	install, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm}, opts...)
	require.NoError(t, err)
	require.NoError(t, install.Register(reg))
	return install
}

// withRecovery returns the server options of install inside
// go-grpc-middleware's recovery, which logs nothing, and more after them.
func withRecovery(install *interceptor.ServerInstall, more ...grpc.ServerOption) []grpc.ServerOption {
	opts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(recoverylog.Option(zap.NewNop())))}
	return append(append(opts, install.ServerOptions()...), more...)
}

// serveInMemory serves srv on an in-memory listener until the test ends and
// returns a client connection to it.
func serveInMemory(t *testing.T, srv *grpc.Server, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn", append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, opts...)...)
	if err != nil {
		srv.Stop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Errorf("closing client: %v", err)
		}
		srv.Stop()
		if err := <-done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("serve: %v", err)
		}
	})
	return conn
}

// unaryMethods lists the unary methods of srv's services, sorted, with the
// message types from the global protobuf registry.
func unaryMethods(conn *grpc.ClientConn, srv *grpc.Server) ([]unaryMethod, error) {
	var out []unaryMethod
	for service, info := range srv.GetServiceInfo() {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", service, err)
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			return nil, fmt.Errorf("%s is no service", service)
		}
		for _, mi := range info.Methods {
			if mi.IsClientStream || mi.IsServerStream {
				continue
			}
			md := sd.Methods().ByName(protoreflect.Name(mi.Name))
			if md == nil {
				return nil, fmt.Errorf("%s/%s: no descriptor", service, mi.Name)
			}
			in, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
			if err != nil {
				return nil, err
			}
			outType, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
			if err != nil {
				return nil, err
			}
			out = append(out, unaryMethod{conn: conn, fullName: "/" + service + "/" + mi.Name, in: in, out: outType})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].fullName < out[j].fullName })
	return out, nil
}

// request builds call i's request: a base with a SourceID from 1 to
// sourceIDs, a collection name from a small set (so that some calls succeed
// and some find the collection missing or existing), and nothing else.
func (m unaryMethod) request(i int) protoreflect.ProtoMessage {
	msg := m.in.New()
	fields := msg.Descriptor().Fields()
	if f := fields.ByName("base"); f != nil && f.Message() != nil {
		base := msg.Mutable(f).Message()
		if sf := base.Descriptor().Fields().ByName("sourceID"); sf != nil {
			base.Set(sf, protoreflect.ValueOfInt64(int64(i%sourceIDs+1)))
		}
	}
	if f := fields.ByName("collection_name"); f != nil && f.Kind() == protoreflect.StringKind {
		msg.Set(f, protoreflect.ValueOfString(fmt.Sprintf("c%d", i%3)))
	}
	return msg.Interface()
}

// faultFor picks call i's fault: mostly none, sometimes a gRPC error, a
// failing status or a panic.
func faultFor(i int) fault.Mode {
	switch {
	case i%13 == 0:
		return fault.Panic
	case i%7 == 0:
		return fault.Error
	case i%5 == 0:
		return fault.ErrorCode
	}
	return fault.None
}

// trafficCount is what traffic did: calls made, and how many of them came
// back with an error (injected faults, panics and handler errors).
type trafficCount struct {
	calls, errors int
}

// traffic calls every method of s, round after round, until ctx is done.
// The returned function waits for it to stop and says what it did.
func traffic(ctx context.Context, every time.Duration, s *stack) func() trafficCount {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var count trafficCount
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			for j, m := range s.methods {
				n := i*len(s.methods) + j
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				if mode := faultFor(n); mode != fault.None {
					cctx = fault.AppendToOutgoingContext(cctx, mode)
				}
				err := m.conn.Invoke(cctx, m.fullName, m.request(n), m.out.New().Interface())
				cancel()
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				count.calls++
				if err != nil {
					count.errors++
				}
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() trafficCount {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return count
	}
}

// substitute replaces the dashboard's template variables for one job and
// the instances that the regular expression instance matches
// (mixin.AllInstances: every one), with a one-minute rate interval.
func substitute(expr, job, instance string) string {
	return strings.NewReplacer(
		"$job", job,
		"$instance", instance,
		"$__rate_interval", "1m",
	).Replace(expr)
}
