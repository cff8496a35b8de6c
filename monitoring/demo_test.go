package monitoring_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/internal/promtest"
)

// demoClientLimit is the client limit the demo runs with: its steady
// traffic comes from four clients, so the overflow counter moves.
const demoClientLimit = 2

// demoInterval is the time between two of the demo's steady calls: a round
// of its mix, which calls every method of the Milvus table, takes well
// under a second.
const demoInterval = 10 * time.Millisecond

// buildDemo builds examples/demo from the root module into a temporary
// directory and returns the binary's path. A first build on a new machine
// compiles every dependency and can take minutes: the build is bounded only
// by the test binary's own -timeout.
func buildDemo(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command builds the demo")
	bin := filepath.Join(t.TempDir(), "demo")
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./examples/demo")
	cmd.Dir = ".." // the root module, which the demo belongs to
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building the demo:\n%s", out)
	return bin
}

// startDemo runs the demo binary bin (see buildDemo) with steady traffic
// until the test ends, serving /metrics on a free loopback port, whose
// host:port it returns once /metrics answers. At the end it interrupts the
// demo, which must exit cleanly; its output is logged if the test failed.
func startDemo(t *testing.T, bin string) string {
	t.Helper()
	metrics := promtest.FreePort(t)
	cmd := exec.Command(bin,
		"-steady",
		"-steady-interval", demoInterval.String(),
		"-client-limit", strconv.Itoa(demoClientLimit),
		"-metrics-addr", metrics,
		"-duration", "15m", // a safety net: the test interrupts it long before
	)
	out := &promtest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	var exitErr error
	exited := make(chan struct{}) // closed once exitErr is set
	go func() {
		exitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		if err := cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("interrupting the demo: %v", err)
		}
		select {
		case <-exited:
			if exitErr != nil {
				t.Errorf("demo: %v", exitErr)
			}
		case <-time.After(15 * time.Second):
			if err := cmd.Process.Kill(); err != nil {
				t.Errorf("killing the demo: %v", err)
			}
			<-exited
			t.Errorf("the demo did not stop within 15s of an interrupt")
		}
		if t.Failed() {
			t.Logf("demo output:\n%s", out.String())
		}
	})

	promtest.Await(t, "the demo's /metrics on "+metrics+" answers", func(ctx context.Context) (bool, string) {
		select {
		case <-exited:
			t.Fatalf("the demo exited before serving /metrics (%v):\n%s", exitErr, out.String())
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+metrics+"/metrics", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return metrics
}
