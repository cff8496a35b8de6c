package methodmap_test

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

func ExampleDefault() {
	// Register the counters first: the map refuses counters that nothing
	// would scrape.
	reg := prometheus.NewRegistry()
	metrics := registry.New()
	if err := metrics.Register(reg); err != nil {
		fmt.Println(err)
		return
	}
	m, err := methodmap.Default(metrics)
	if err != nil {
		fmt.Println(err)
		return
	}
	e, ok := m.Lookup("/milvus.proto.rootcoord.RootCoord/CreateCollection")
	fmt.Println(m.Len(), ok, e.Scheme)
	_, ok = m.Lookup("/grpc.health.v1.Health/Check")
	fmt.Println(ok)
	// Output:
	// 49 true {client_id, type}
	// false
}

func ExampleMilvusRoutes() {
	metrics := registry.New()
	if err := metrics.Register(prometheus.NewRegistry()); err != nil {
		fmt.Println(err)
		return
	}
	// A deployment whose proxy service lives in another package, plus a
	// route for the proxy's Retrieve counter, which Milvus has no RPC for.
	routes, err := methodmap.MilvusRoutes(metrics, methodmap.Services{Proxy: "milvus.proto.Proxy"})
	if err != nil {
		fmt.Println(err)
		return
	}
	routes = append(routes, methodmap.Route{
		Method:  "/milvus.proto.milvus.MilvusService/Retrieve",
		Counter: metrics.Proxy.RetrieveCounter,
		Scheme:  methodmap.StatusScheme,
	})
	m, err := methodmap.New(routes...)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, ok := m.Lookup("/milvus.proto.Proxy/GetDdChannel")
	fmt.Println(m.Len(), ok)
	// Output: 50 true
}

func ExampleNew_error() {
	_, err := methodmap.New(methodmap.Route{Method: "CreateCollection"})
	fmt.Println(err)
	// Output: methodmap: route 0: method name "CreateCollection": must start with '/' (want /package.Service/Method)
}

// A map over counters that were never registered would count where nothing
// scrapes, so building it is an error that names the components.
func ExampleDefault_unregistered() {
	_, err := methodmap.Default(registry.New())
	fmt.Println(err)
	// Output: methodmap: the counters of registry component(s) Proxy, RootCoord, DataNode were never registered, so the map would count where nothing scrapes: call Metrics.Register(reg) (or each component's Register) before methodmap.Default or New; collectors registered by hand, as with reg.MustRegister(m.Collectors()...), are not seen, and Register leaves the collectors reg already holds as they are
}
