package milvus26

import (
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// TestMilvus26BoundedPairs shows the difference on purpose that bounds
// db_name and collection_name, over milvus-proto's generated service and
// client: with a limit of 2, a third collection counts under the overflow
// pair and in grpcmetrics_collection_overflow_total; dropping a collection
// (the example proxy calls RemoveCollection) deletes its series and frees
// its place for the next one. Milvus bounds neither label.
func TestMilvus26BoundedPairs(t *testing.T) {
	set, err := interceptor.NewMilvus26(interceptor.WithNodeID(mmNodeID), interceptor.WithCollectionLimit(2))
	require.NoError(t, err)
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus26: set})
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, install.Register(reg))
	srv := grpc.NewServer(install.ServerOptions()...)
	milvuspb.RegisterMilvusServiceServer(srv, mmExampleProxy{set: set})
	conn := mmServe(t, srv, nil, install)
	client := milvuspb.NewMilvusServiceClient(conn)
	has := func(coll string) {
		t.Helper()
		_, err := client.HasCollection(t.Context(), &milvuspb.HasCollectionRequest{CollectionName: coll})
		require.NoError(t, err)
	}

	has("c1")
	has("c2")
	has("c3") // beyond the limit
	ov := interceptor.OverflowCollectionLabel
	assert.Equal(t, map[string]float64{
		"HasCollection total default/c1": 1, "HasCollection success default/c1": 1,
		"HasCollection total default/c2": 1, "HasCollection success default/c2": 1,
		"HasCollection total " + ov + "/" + ov: 1, "HasCollection success " + ov + "/" + ov: 1,
	}, mmReqCounts(t, reg))
	assert.Equal(t, 1.0, mmGauge(t, reg, "grpcmetrics_collection_overflow_total"))
	assert.Equal(t, 2.0, mmGauge(t, reg, "grpcmetrics_collections"))

	_, err = client.DropCollection(t.Context(), &milvuspb.DropCollectionRequest{CollectionName: "c1"})
	require.NoError(t, err)
	has("c4") // takes c1's place
	assert.Equal(t, map[string]float64{
		"HasCollection total default/c2": 1, "HasCollection success default/c2": 1,
		"HasCollection total " + ov + "/" + ov: 1, "HasCollection success " + ov + "/" + ov: 1,
		"HasCollection total default/c4": 1, "HasCollection success default/c4": 1,
	}, mmReqCounts(t, reg), "c1's series, DropCollection's own included, are gone")
	assert.Equal(t, 1.0, mmGauge(t, reg, "grpcmetrics_collection_overflow_total"))
	assert.Equal(t, 2.0, mmGauge(t, reg, "grpcmetrics_collections"))
}

// mmGauge returns the value of the single series of a counter or gauge
// family on reg.
func mmGauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			require.Len(t, mf.GetMetric(), 1, name)
			m := mf.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no family %s", name)
	return 0
}
