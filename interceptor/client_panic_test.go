package interceptor_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// TestClientInFlightAfterInnerPanic installs the client side of the
// provider's families and of A66, in-flight gauges on, and chains an
// interceptor inside them that panics; the application recovers the
// panic. Both in-flight gauges come back to 0 after each call, unary and
// stream, and the call counts as ended with code Unknown.
func TestClientInFlightAfterInnerPanic(t *testing.T) {
	for _, tc := range []struct {
		name string
		sets func(t *testing.T) interceptor.ClientSets
	}{
		{"A66", func(t *testing.T) interceptor.ClientSets {
			a, err := interceptor.NewA66(interceptor.WithInFlight())
			require.NoError(t, err)
			return interceptor.ClientSets{A66: a}
		}},
		{"provider", func(t *testing.T) interceptor.ClientSets {
			cm, err := interceptor.NewClientMetrics(interceptor.WithInFlight())
			require.NoError(t, err)
			return interceptor.ClientSets{Provider: cm}
		}},
		{"both", func(t *testing.T) interceptor.ClientSets {
			a, err := interceptor.NewA66(interceptor.WithInFlight())
			require.NoError(t, err)
			cm, err := interceptor.NewClientMetrics(interceptor.WithInFlight())
			require.NoError(t, err)
			return interceptor.ClientSets{Provider: cm, A66: a}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			install, err := interceptor.NewClientInstall(tc.sets(t))
			require.NoError(t, err)
			require.NoError(t, install.Register(reg))
			opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, install.DialOptions()...)
			opts = append(opts, // inside the install's interceptors
				grpc.WithChainUnaryInterceptor(func(context.Context, string, any, any, *grpc.ClientConn, grpc.UnaryInvoker, ...grpc.CallOption) error {
					panic("an inner interceptor's bug")
				}),
				grpc.WithChainStreamInterceptor(func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, grpc.Streamer, ...grpc.CallOption) (grpc.ClientStream, error) {
					panic("an inner interceptor's bug")
				}))
			conn, err := grpc.NewClient("passthrough:///nowhere", opts...)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, conn.Close()) })
			recovered := func(call func()) (p any) {
				defer func() { p = recover() }()
				call()
				return nil
			}
			for range 3 {
				require.NotNil(t, recovered(func() {
					_ = conn.Invoke(context.Background(), "/pkg.Svc/Unary", nil, nil) //nolint:errcheck // it panics
				}))
				require.NotNil(t, recovered(func() {
					_, _ = conn.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: true}, "/pkg.Svc/Stream") //nolint:errcheck // it panics
				}))
			}
			samples := isoSamples(t, reg)
			inFlight := 0
			for k, v := range samples {
				if strings.HasPrefix(k, "grpc_client_in_flight{") || strings.HasPrefix(k, "grpc_client_call_in_flight{") {
					inFlight++
					assert.Zero(t, v, k)
				}
			}
			assert.NotZero(t, inFlight, "no in-flight series: %v", samples)
		})
	}
}
