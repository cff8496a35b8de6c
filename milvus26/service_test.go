package milvus26

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMilvus26CoversMilvusService calls every unary method of milvus-proto
// v2.6.18's MilvusService, counted from its descriptor, over the real
// request and response types, and expects each under its own
// function_name: total once, success once, and a latency observation.
// There is no table: a method the set has never heard of is counted as
// well as Search.
func TestMilvus26CoversMilvusService(t *testing.T) {
	methods := mmUnaryMethods(t)
	require.Len(t, methods, 114, "milvus-proto v2.6.18's MilvusService has 114 unary methods")
	conn, reg, _ := mmInstall(t, mmReply(mmSuccess, 0))
	for _, m := range methods {
		require.NoError(t, conn.Invoke(t.Context(), "/"+mmServiceName+"/"+m.name, m.in.New().Interface(), m.out.New().Interface()), m.name)
	}
	counts := mmReqCounts(t, reg)
	latency := mmLatencyCounts(t, reg)
	byFunction := map[string]map[string]float64{}
	for key, v := range counts {
		// "function status db/collection": empty db names make the last
		// part start with "/", never a space.
		parts := strings.SplitN(key, " ", 3)
		require.Len(t, parts, 3, key)
		fn, status := parts[0], parts[1]
		if byFunction[fn] == nil {
			byFunction[fn] = map[string]float64{}
		}
		byFunction[fn][status] += v
	}
	assert.Len(t, byFunction, len(methods), "one function_name per method")
	for _, m := range methods {
		assert.Equal(t, map[string]float64{"total": 1, "success": 1}, byFunction[m.name], m.name)
		assert.Equal(t, uint64(1), latency[m.name], m.name)
	}
}
