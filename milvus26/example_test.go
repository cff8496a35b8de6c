package milvus26

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// mmExampleProxy stands for a Milvus proxy's MilvusService: it answers
// HasCollection, and drops a collection's series when it drops the
// collection.
type mmExampleProxy struct {
	milvuspb.UnimplementedMilvusServiceServer
	set *interceptor.Milvus26
}

func (mmExampleProxy) HasCollection(context.Context, *milvuspb.HasCollectionRequest) (*milvuspb.BoolResponse, error) {
	return &milvuspb.BoolResponse{Status: &commonpb.Status{}, Value: true}, nil
}

func (p mmExampleProxy) DropCollection(ctx context.Context, req *milvuspb.DropCollectionRequest) (*commonpb.Status, error) {
	// ... drop it, then forget its series, under the database its calls
	// were counted in ("default" where the request names none).
	db := req.GetDbName()
	if db == "" {
		db = interceptor.DefaultDBName
	}
	p.set.RemoveCollection(db, req.GetCollectionName())
	return &commonpb.Status{}, nil
}

// Example_install installs Milvus 2.6's request counters on a server of
// milvus-proto's MilvusService with NewServerInstall, and calls it once: a request
// that names no database, from a client whose metadata does.
func Example_install() {
	set, err := interceptor.NewMilvus26(
		interceptor.WithNodeID(1),             // node_id="1": the proxy's node ID
		interceptor.WithCollectionLimit(4096), // (db_name, collection_name) pairs kept
		interceptor.WithReqLatency(),          // milvus_proxy_req_latency, as Milvus's handlers fill it
	)
	if err != nil {
		log.Fatal(err)
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus26: set})
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := install.Register(reg); err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor()), // outside: the set counts a panic as "rejected"
	}, install.ServerOptions()...)...)
	milvuspb.RegisterMilvusServiceServer(srv, mmExampleProxy{set: set})
	if err := install.Init(srv); err != nil { // after registering the services, before serving
		log.Fatal(err)
	}

	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis) //nolint:errcheck // ends with Stop
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "dbname", "shop")
	if _, err := milvuspb.NewMilvusServiceClient(conn).HasCollection(ctx, &milvuspb.HasCollectionRequest{CollectionName: "books"}); err != nil {
		log.Fatal(err)
	}
	out, err := testutil.GatherAndFormat(reg, expfmt.TypeTextPlain, "milvus_proxy_req_count")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output:
	// # HELP milvus_proxy_req_count count of operation executed
	// # TYPE milvus_proxy_req_count counter
	// milvus_proxy_req_count{collection_name="books",db_name="shop",function_name="HasCollection",node_id="1",status="success"} 1
	// milvus_proxy_req_count{collection_name="books",db_name="shop",function_name="HasCollection",node_id="1",status="total"} 1
}
