package bench

import (
	"context"
	"testing"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// BenchmarkRatio measures issue 8's ratios with both sides interleaved:
// blocks of ratioBlock calls of grpcmetrics and of go-grpc-middleware's
// provider take turns (which side goes first alternates), each block timed
// on its own, so that both sides run under the same conditions of a shared
// machine, whose speed drifts by tens of percent over minutes. An op is one
// call of each; the metrics are each side's mean time per call and the
// ratio of the provider's total time to grpcmetrics'. The calls are
// BenchmarkDirect's: direct, with a no-op handler, after one warm-up call,
// and every grpcmetrics call is checked to have been counted.
func BenchmarkRatio(b *testing.B) {
	cases := []struct {
		name   string
		method string
		opts   string // a mode of modes, or "reference"
	}{
		{"default-rootcoord", rcMethod, "default"},
		{"typed-rootcoord", rcMethod, "typed"},
		{"default-proxy", proxyMethod, "default"},
		{"typed-proxy", proxyMethod, "typed"},
		{"func-rootcoord", rcMethod, "func"},
		{"func-proxy", proxyMethod, "func"},
		{"reference-rootcoord", rcMethod, "reference"},
		{"reference-proxy", proxyMethod, "reference"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var (
				m    *registry.Metrics
				ours grpc.UnaryServerInterceptor
			)
			if c.opts == "reference" {
				var ref *reference
				m, ref = newReference(b)
				ours = ref.intercept
			} else {
				var ic *interceptor.ServerInstall
				m, ic = newGRPCMetrics(b, modeOpts(b, c.opts)...)
				ours = ic.UnaryServerInterceptor()
			}
			sm := grpcprom.NewServerMetrics()
			prometheus.NewRegistry().MustRegister(sm)
			runRatio(b, ours, sm.UnaryServerInterceptor(), c.method)
			checkCounted(b, m, c.method, registry.SuccessLabel, b.N+1)
		})
	}
}

// ratioBlock is the number of calls of one side timed as one block: long
// enough that reading the clock, and the cold caches after the other
// side's block, cost little next to it (shorter blocks measured
// grpcmetrics slower), short enough (under a millisecond for grpcmetrics,
// a few for the provider) that both sides see the same machine.
const ratioBlock = 4096

func runRatio(b *testing.B, ours, provider grpc.UnaryServerInterceptor, method string) {
	ctx := context.Background()
	info := &grpc.UnaryServerInfo{FullMethod: method}
	h := returns(okResp, nil)
	for _, icpt := range []grpc.UnaryServerInterceptor{ours, provider} {
		resp, err := icpt(ctx, benchReq, info, h)
		require.NoError(b, err, "the warm-up call")
		require.Equal(b, okResp, resp, "the warm-up call returns the handler's response")
	}
	tOurs, tProvider := interleaved(b,
		func(n int) {
			for range n {
				sinkResp, sinkErr = ours(ctx, benchReq, info, h)
			}
		},
		func(n int) {
			for range n {
				sinkResp, sinkErr = provider(ctx, benchReq, info, h)
			}
		})
	b.ReportMetric(float64(tOurs.Nanoseconds())/float64(b.N), "grpcmetrics-ns/call")
	b.ReportMetric(float64(tProvider.Nanoseconds())/float64(b.N), "provider-ns/call")
	b.ReportMetric(float64(tProvider)/float64(tOurs), "ratio")
}

// interleaved runs b.N calls of each side, ours and theirs, in blocks of
// ratioBlock calls that take turns (which side goes first alternates), each
// block timed on its own, and returns each side's total time.
func interleaved(b *testing.B, ours, theirs func(n int)) (tOurs, tTheirs time.Duration) {
	block := func(run func(int), n int) time.Duration {
		start := time.Now()
		run(n)
		return time.Since(start)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for done, turn := 0, 0; done < b.N; turn++ {
		n := min(ratioBlock, b.N-done)
		if turn%2 == 0 {
			tOurs += block(ours, n)
			tTheirs += block(theirs, n)
		} else {
			tTheirs += block(theirs, n)
			tOurs += block(ours, n)
		}
		done += n
	}
	b.StopTimer()
	return tOurs, tTheirs
}

// modeOpts returns the options of the mode of modes named name.
func modeOpts(tb testing.TB, name string) []any {
	tb.Helper()
	for _, md := range modes {
		if md.name == name {
			return md.opts
		}
	}
	require.FailNow(tb, "no such mode", name)
	return nil
}
