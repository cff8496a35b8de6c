package interceptor_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// cmTenant is the context key of the tenant in TestCxKeepsLabelsNotValues.
type cmTenant struct{}

// TestCxKeepsLabelsNotValues keeps 64 tenants whose values are 1 MiB
// each, from contexts released after their call, and checks that the set
// holds less than 1 MiB for them: what their labels need (255 bytes
// each), not the values the calls brought.
func TestCxKeepsLabelsNotValues(t *testing.T) {
	const tenants, size = 64, 1 << 20
	reg := prometheus.NewPedanticRegistry()
	sm, err := interceptor.LegacyServerMetrics(interceptor.WithContextLabels(interceptor.ContextLabels{
		Names:  []string{"tenant"},
		Values: func(ctx context.Context) []string { return []string{ctx.Value(cmTenant{}).(string)} },
	}))
	require.NoError(t, err)
	require.NoError(t, sm.Register(reg))
	icpt := sm.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/grpc.testing.TestService/UnaryCall"}
	ok := func(context.Context, any) (any, error) { return nil, nil }
	call := func(i int) {
		// The index first: each tenant exports a label of its own.
		ctx := context.WithValue(context.Background(), cmTenant{}, fmt.Sprintf("%03d", i)+strings.Repeat("t", size-3))
		_, err := icpt(ctx, nil, info, ok)
		require.NoError(t, err)
	}
	call(tenants) // the method's series, and the families' first children
	require.True(t, sm.RemoveContextLabels(fmt.Sprintf("%03d", tenants)+strings.Repeat("t", size-3)))
	before := mpHeap()
	for i := range tenants {
		call(i)
	}
	after := mpHeap()
	runtime.KeepAlive(sm)
	n, err := testutilSeries(reg, "grpc_server_handled_total")
	require.NoError(t, err)
	assert.Equal(t, tenants, n, "one series per kept tenant")
	t.Logf("the set holds %d bytes for %d tenants of %d bytes", after-before, tenants, size)
	assert.Less(t, after-before, int64(1<<20), "bytes the set holds for %d tenants of %d bytes", tenants, size)
}

// testutilSeries counts the series of family name in reg.
func testutilSeries(reg prometheus.Gatherer, name string) (int, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric()), nil
		}
	}
	return 0, nil
}
