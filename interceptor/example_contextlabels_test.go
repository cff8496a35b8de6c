package interceptor_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// cxDocServer is the one service the examples' ServerInstall.Init finds.
type cxDocServer struct{}

func (cxDocServer) GetServiceInfo() map[string]grpc.ServiceInfo {
	return map[string]grpc.ServiceInfo{"shop.Cart": {Methods: []grpc.MethodInfo{{Name: "Add"}}}}
}

// cxDocNew builds the server metrics sm in an install with opts,
// initialised and registered on a registry of their own, and returns the
// install's unary interceptor and the registry.
func cxDocNew(sm *interceptor.ServerMetrics, opts ...interceptor.InstallOption) (grpc.UnaryServerInterceptor, *prometheus.Registry) {
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm}, opts...)
	if err != nil {
		panic(err)
	}
	if err := install.Init(cxDocServer{}); err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	if err := install.Register(reg); err != nil {
		panic(err)
	}
	return install.UnaryServerInterceptor(), reg
}

// cxDocSet builds server metrics with opts.
func cxDocSet(opts ...interceptor.ServerMetricsOption) *interceptor.ServerMetrics {
	sm, err := interceptor.NewServerMetrics(opts...)
	if err != nil {
		panic(err)
	}
	return sm
}

// The in-flight gauge counts the calls whose handler runs; here, one, read
// from inside the handler.
func ExampleWithInFlight() {
	icpt, reg := cxDocNew(cxDocSet(interceptor.WithInFlight()))
	handler := func(context.Context, any) (any, error) {
		n, err := testutil.GatherAndCount(reg, "grpc_server_in_flight")
		fmt.Println("series while running:", n, err)
		fmt.Println("in flight:", cxDocInFlight(reg))
		return nil, nil
	}
	if _, err := icpt(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/shop.Cart/Add"}, handler); err != nil {
		panic(err)
	}
	fmt.Println("after:", cxDocInFlight(reg))
	// Output:
	// series while running: 1 <nil>
	// in flight: 1
	// after: 0
}

// cxDocInFlight returns the sum of grpc_server_in_flight in reg.
func cxDocInFlight(reg *prometheus.Registry) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "grpc_server_in_flight" {
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// With the code on the histogram, the latency of the successful calls is
// the grpc_code="OK" series.
func ExampleHistogram_codeLabel() {
	icpt, reg := cxDocNew(cxDocSet(), interceptor.WithHistogram(interceptor.Histogram{CodeLabel: true}))
	ok := func(context.Context, any) (any, error) { return nil, nil }
	if _, err := icpt(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/shop.Cart/Add"}, ok); err != nil {
		panic(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "grpc_server_handling_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			fmt.Println(strings.Join(labels, " "), m.GetHistogram().GetSampleCount())
		}
	}
	// Output:
	// grpc_code=OK grpc_method=Add grpc_service=shop.Cart grpc_type=unary 1
}

// A tenant taken from the call's metadata labels every family; the limit
// bounds the tenants kept, and the others count under "overflow".
func ExampleWithContextLabels() {
	tenant := func(ctx context.Context) []string {
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get("x-tenant"); len(v) > 0 {
			return []string{v[0]}
		}
		return []string{"none"}
	}
	sm := cxDocSet(interceptor.WithContextLabels(interceptor.ContextLabels{
		Names:  []string{"tenant"},
		Values: tenant,
		Limit:  2,
	}))
	icpt, reg := cxDocNew(sm)
	ok := func(context.Context, any) (any, error) { return nil, nil }
	for _, t := range []string{"acme", "globex", "acme", "initech"} {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-tenant", t))
		if _, err := icpt(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/shop.Cart/Add"}, ok); err != nil {
			panic(err)
		}
	}
	fmt.Println(cxDocByTenant(reg))
	fmt.Println("removed globex:", sm.RemoveContextLabels("globex"))
	fmt.Println(cxDocByTenant(reg))
	// Output:
	// map[acme:2 globex:1 overflow:1]
	// removed globex: true
	// map[acme:2 overflow:1]
}

// cxDocByTenant returns grpc_server_handled_total by tenant.
func cxDocByTenant(reg *prometheus.Registry) map[string]float64 {
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		if mf.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "tenant" {
					out[lp.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// A client's tenant comes from its outgoing metadata; removing a tenant
// that has left frees its place under the limit.
func ExampleClientMetrics_RemoveContextLabels() {
	cm, err := interceptor.NewClientMetrics(interceptor.WithContextLabels(interceptor.ContextLabels{
		Names: []string{"tenant"},
		Values: func(ctx context.Context) []string {
			md, _ := metadata.FromOutgoingContext(ctx)
			return []string{strings.Join(md.Get("x-tenant"), ",")}
		},
	}))
	if err != nil {
		panic(err)
	}
	install, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm})
	if err != nil {
		panic(err)
	}
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-tenant", "acme")
	if err := install.UnaryClientInterceptor()(ctx, "/shop.Cart/Add", nil, nil, nil, invoker); err != nil {
		panic(err)
	}
	fmt.Println(cm.RemoveContextLabels("acme"), cm.RemoveContextLabels("acme"))
	// Output:
	// true false
}
