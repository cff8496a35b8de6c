package methodmap_test

import (
	"fmt"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

func ExampleDefault() {
	m, err := methodmap.Default(registry.New())
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
