package a66

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// arBoth is a stack with the plugin and ours installed together on the
// same server and the same connection, so that both see the same events,
// each exporting into a registry of its own.
type arBoth struct {
	*arStack
	plugin *arPlugin
	ours   *prometheus.Registry
}

func newArBoth(t *testing.T) *arBoth {
	t.Helper()
	p := newArPlugin(t)
	a, err := interceptor.NewA66()
	require.NoError(t, err)
	server, err := interceptor.NewServerInstall(interceptor.ServerSets{A66: a})
	require.NoError(t, err)
	client, err := interceptor.NewClientInstall(interceptor.ClientSets{A66: a})
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, server.Register(reg))
	require.NoError(t, client.Register(reg))
	s := newArStack(t,
		func(srv *grpc.Server) { require.NoError(t, server.Init(srv)) },
		append([]grpc.ServerOption{p.ServerOption()}, server.ServerOptions()...),
		append([]grpc.DialOption{p.DialOption()}, client.DialOptions()...),
	)
	return &arBoth{arStack: s, plugin: p, ours: reg}
}

// diff stops the stack and compares the two expositions; timing notes (a
// duration one bucket apart) are logged.
func (b *arBoth) diff(t *testing.T) []string {
	t.Helper()
	b.stop(t)
	diffs, timing := arDiff(arGather(t, b.plugin.reg), arGather(t, b.ours))
	for _, l := range timing {
		t.Logf("timing (clocks read microseconds apart): %s", l)
	}
	return diffs
}

// TestArEqualToPlugin installs grpc-go's plugin and ours on one server and
// one connection, drives the scenario, and requires the two expositions to
// be equal: every family, series, counter value, sample count, bucket and
// size sum.
func TestArEqualToPlugin(t *testing.T) {
	b := newArBoth(t)
	arDrive(t, b.conn)
	require.Empty(t, b.diff(t), "the expositions differ")
}

// TestArCodeAboveUnauthenticated shows the one difference on purpose that
// a call can show: a code above UNAUTHENTICATED (16), which the plugin
// writes as CODE(n) for any n, is UNKNOWN in ours. Every family that
// carries grpc_status differs in exactly that series, on both sides.
func TestArCodeAboveUnauthenticated(t *testing.T) {
	b := newArBoth(t)
	c := testpb.NewTestServiceClient(b.conn)
	_, err := c.UnaryCall(t.Context(), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: 17}})
	require.Equal(t, codes.Code(17), status.Code(err))
	const (
		m      = `grpc_method="grpc.testing.TestService/UnaryCall"`
		target = `grpc_target="passthrough:///bufnet"`
	)
	var want []string
	for _, f := range []string{
		"grpc_client_attempt_duration_seconds",
		"grpc_client_attempt_rcvd_total_compressed_message_size_bytes",
		"grpc_client_attempt_sent_total_compressed_message_size_bytes",
		"grpc_client_call_duration_seconds",
	} {
		want = append(want, f+"{"+m+`,grpc_status="CODE(17)",`+target+"}: only in the plugin's",
			f+"{"+m+`,grpc_status="UNKNOWN",`+target+"}: only in ours")
	}
	for _, f := range []string{
		"grpc_server_call_duration_seconds",
		"grpc_server_call_rcvd_total_compressed_message_size_bytes",
		"grpc_server_call_sent_total_compressed_message_size_bytes",
	} {
		want = append(want, f+"{"+m+`,grpc_status="CODE(17)"}: only in the plugin's`,
			f+"{"+m+`,grpc_status="UNKNOWN"}: only in ours`)
	}
	got := b.diff(t)
	for i, l := range got { // drop the series' summaries: their durations vary
		if k := strings.LastIndex(l, " ("); k > 0 {
			got[i] = l[:k]
		}
	}
	require.Equal(t, want, got)
}
