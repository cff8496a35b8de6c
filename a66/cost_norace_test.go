//go:build !race

package a66

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// arAllocs is the allocations per operation of run, over bufconn, with in
// installed on one side (server or client) and the other bare.
func arAllocs(t *testing.T, side string, in arInstall, run func(context.Context, testpb.TestServiceClient) error) float64 {
	t.Helper()
	var (
		sopts []grpc.ServerOption
		init  func(*grpc.Server)
		dopts []grpc.DialOption
	)
	if side == "server" {
		sopts, init = in.server(t)
	} else {
		dopts = in.client(t)
	}
	s := newArStack(t, init, sopts, dopts)
	defer s.stop(t)
	c := testpb.NewTestServiceClient(s.conn)
	ctx := t.Context()
	failed := false
	allocs := testing.AllocsPerRun(300, func() { failed = run(ctx, c) != nil || failed })
	require.False(t, failed, "a call failed")
	return allocs
}

// TestArCostBounds checks the cost of A66 beside a no-op stats handler
// (the events grpc-go builds for any handler), with AllocsPerRun over
// bufconn: on the server at most 1 allocation per call, unary or stream;
// on the client at most 2 per unary call and 3 per stream; none per
// message (16 messages each way cost less than 15 more than 1). grpc-go's
// own allocations move by one now and then, so each bound holds if it
// holds in one of three measures. The race detector changes what
// allocates, so the test runs without it.
func TestArCostBounds(t *testing.T) {
	installs := map[string]arInstall{}
	for _, in := range arInstalls() {
		installs[in.name] = in
	}
	unary := arUnaryOnce
	stream := func(n int) func(context.Context, testpb.TestServiceClient) error {
		return func(ctx context.Context, c testpb.TestServiceClient) error { return arStreamOnce(ctx, c, n) }
	}
	for _, tc := range []struct {
		side                string
		perUnary, perStream float64
	}{{"server", 1, 1}, {"client", 2, 3}} {
		t.Run(tc.side, func(t *testing.T) {
			extra := func(run func(context.Context, testpb.TestServiceClient) error) float64 {
				return arAllocs(t, tc.side, installs["ours"], run) - arAllocs(t, tc.side, installs["noop"], run)
			}
			for range 3 {
				u, s1, s16 := extra(unary), extra(stream(1)), extra(stream(16))
				t.Logf("beyond the no-op handler: unary %v, stream of 1 %v, stream of 16 %v", u, s1, s16)
				if u <= tc.perUnary && s1 <= tc.perStream && s16-s1 < 15 {
					return
				}
			}
			t.Fatalf("A66 on the %s costs more than %v per unary call, %v per stream or 0 per message, in 3 measures (see the log)",
				tc.side, tc.perUnary, tc.perStream)
		})
	}
}
