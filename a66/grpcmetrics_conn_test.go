package a66

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// grpc-go's subchannel metrics (gRFC A94).
const (
	arSucceeded      = "grpc.subchannel.connection_attempts_succeeded"
	arFailed         = "grpc.subchannel.connection_attempts_failed"
	arDisconnections = "grpc.subchannel.disconnections"
	arOpen           = "grpc.subchannel.open_connections"
)

// arServeTCP serves arService on lis; stop stops it, gracefully (a GOAWAY
// first) or not, and waits for Serve to return.
func arServeTCP(t *testing.T, lis net.Listener) (stop func(graceful bool)) {
	t.Helper()
	srv := grpc.NewServer()
	testpb.RegisterTestServiceServer(srv, &arService{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	stopped := false
	stop = func(graceful bool) {
		if stopped {
			return
		}
		stopped = true
		if graceful {
			srv.GracefulStop()
		} else {
			srv.Stop()
		}
		require.NoError(t, <-served)
	}
	t.Cleanup(func() { stop(false) })
	return stop
}

// arWaitFor waits, on state changes, for conn to be in state want.
func arWaitFor(t *testing.T, conn *grpc.ClientConn, want connectivity.State) {
	t.Helper()
	for s := conn.GetState(); s != want; s = conn.GetState() {
		require.True(t, conn.WaitForStateChange(t.Context(), s), "the test ended waiting for %v, in %v", want, s)
	}
}

// TestArConnectionMetricsEqualToPlugin installs grpc-go's plugin and our
// A66, both with the four subchannel metrics and the optional labels
// grpc.disconnect_error and grpc.security_level, on one
// connection to a real TCP server, and drives the connection through its
// life: connected, lost when the server stops, failed reconnection
// attempts while it is down, connected again when it restarts on the same
// address, lost again to a graceful stop (a GOAWAY), closed. Each step
// waits for the values grpc-go records (through a probe installed after
// both), then the two expositions must be equal: every family, the
// per-call ones too, every series and value.
func TestArConnectionMetricsEqualToPlugin(t *testing.T) {
	b := newArGRPCBoth(t, []string{arSucceeded, arFailed, arDisconnections, arOpen},
		[]string{"grpc.disconnect_error", "grpc.security_level"})
	probe := newArProbe()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	stop1 := arServeTCP(t, lis)

	conn, err := grpc.NewClient("passthrough:///"+addr, append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Reconnect within milliseconds while the server is down.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 5 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 20 * time.Millisecond},
			MinConnectTimeout: 10 * time.Second,
		}),
	}, b.dialOptions(probe)...)...)
	require.NoError(t, err)
	closed := false
	t.Cleanup(func() {
		if !closed {
			require.NoError(t, conn.Close())
		}
	})
	c := testpb.NewTestServiceClient(conn)

	// Connected.
	require.NoError(t, arUnaryOnce(t.Context(), c))
	probe.await(t, arSucceeded+" +1", arOpen+" +1")

	// The server stops: the connection is lost.
	stop1(false)
	probe.await(t, arDisconnections+" +1", arOpen+" -1")

	// Reconnection attempts fail while the server is down: the channel
	// is idle once its policy has seen the loss, and Connect leaves idle.
	arWaitFor(t, conn, connectivity.Idle)
	conn.Connect()
	for range 3 {
		require.Equal(t, arFailed+" +1", probe.next(t))
	}

	// The server restarts on the same address: a later attempt succeeds.
	lis2, err := net.Listen("tcp", addr)
	require.NoError(t, err, "listening again on %s", addr)
	stop2 := arServeTCP(t, lis2)
	others := probe.until(t, arSucceeded+" +1", arOpen+" +1")
	failed := 3 + others[arFailed+" +1"]
	delete(others, arFailed+" +1")
	require.Empty(t, others, "only failed attempts before the success")
	arWaitFor(t, conn, connectivity.Ready) // the policy has seen it too
	require.NoError(t, arUnaryOnce(t.Context(), c))

	diffs, compared := b.diff(t, "grpc_subchannel_")
	require.Empty(t, diffs, "reconnected: the expositions differ")
	require.Equal(t, 4, compared, "succeeded, failed, one disconnection, open")

	// A graceful stop: the server sends a GOAWAY, the connection is lost.
	stop2(true)
	probe.await(t, arDisconnections+" +1", arOpen+" -1")
	require.NoError(t, conn.Close())
	closed = true

	diffs, compared = b.diff(t, "grpc_subchannel_")
	require.Empty(t, diffs, "closed: the expositions differ")
	t.Logf("%d failed attempts", failed)

	// What both wrote: two successes, the failures the probe counted, two
	// disconnections (their errors as grpc-go names them), no connection
	// open.
	got := arSeriesOf(arGather(t, b.reg), "grpc_subchannel_")
	const labels = `grpc_target="passthrough:///`
	require.Equal(t, 2.0, got[`grpc_subchannel_connection_attempts_succeeded_total{`+labels+addr+`"}`], "%v", got)
	require.Equal(t, float64(failed), got[`grpc_subchannel_connection_attempts_failed_total{`+labels+addr+`"}`], "%v", got)
	require.Equal(t, 0.0, got[`grpc_subchannel_open_connections{`+labels+addr+`",grpc_security_level="NoSecurity"}`], "%v", got)
	disconnections, causes := 0.0, 0
	for k, v := range got {
		if strings.HasPrefix(k, "grpc_subchannel_disconnections_total{") {
			t.Logf("%s %v", k, v)
			disconnections += v
			causes++
		}
	}
	require.Equal(t, 2.0, disconnections, "%v", got)
	require.Equal(t, 3+causes, compared, "succeeded, failed, open, and a disconnection series per cause")
}

// TestArLocalityOnAttemptsDiffers shows the one difference that naming an
// optional label makes: the plugin writes grpc.lb.locality and
// grpc.lb.backend_service, when named, on its per-attempt families too
// (with the value an xDS policy gives the call, "" without one), where our
// A66 writes them on the subchannel metrics only. The subchannel families
// are equal, with the labels; each per-attempt family differs in exactly
// its series' labels.
func TestArLocalityOnAttemptsDiffers(t *testing.T) {
	b := newArGRPCBoth(t, []string{arSucceeded, arOpen}, []string{"grpc.lb.locality", "grpc.lb.backend_service"})
	probe := newArProbe()
	s := newArStack(t, nil, nil, b.dialOptions(probe))
	require.NoError(t, arUnaryOnce(t.Context(), testpb.NewTestServiceClient(s.conn)))
	probe.await(t, arSucceeded+" +1", arOpen+" +1")

	got, compared := b.diff(t, "grpc_subchannel_")
	require.Equal(t, 2, compared)
	for i, l := range got { // drop the series' summaries: durations vary
		if k := strings.LastIndex(l, " ("); k > 0 {
			got[i] = l[:k]
		}
	}
	const (
		m      = `grpc_method="grpc.testing.TestService/UnaryCall"`
		xds    = `grpc_lb_backend_service="",grpc_lb_locality="",`
		status = `grpc_status="OK",grpc_target="passthrough:///bufnet"`
	)
	var want []string
	for _, f := range []string{
		"grpc_client_attempt_duration_seconds",
		"grpc_client_attempt_rcvd_total_compressed_message_size_bytes",
		"grpc_client_attempt_sent_total_compressed_message_size_bytes",
	} {
		want = append(want, f+"{"+xds+m+","+status+"}: only in the plugin's", f+"{"+m+","+status+"}: only in ours")
	}
	require.Equal(t, want, got)
}
