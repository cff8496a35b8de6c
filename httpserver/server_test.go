package httpserver_test

import (
	"context"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { assert.NoError(t, busy.Close()) }()
	addr := busy.Addr().String()

	srv, err := httpserver.New(newRegistry(t), httpserver.Options{Addr: addr})
	require.NoError(t, err)
	err = srv.Start()
	require.Error(t, err)
	assert.ErrorContains(t, err, addr)
	assert.ErrorIs(t, err, syscall.EADDRINUSE)
	assert.NoError(t, srv.Shutdown(context.Background()), "Shutdown after a failed Start")
}

// TestStartScrapePortInUse checks that a ScrapeAddr already in use fails
// Start and leaves Addr unbound.
func TestStartScrapePortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { assert.NoError(t, busy.Close()) }()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := free.Addr().String()
	require.NoError(t, free.Close())

	srv, err := httpserver.New(newRegistry(t), httpserver.Options{Addr: addr, ScrapeAddr: busy.Addr().String()})
	require.NoError(t, err)
	err = srv.Start()
	require.Error(t, err)
	assert.ErrorContains(t, err, busy.Addr().String())
	assert.ErrorIs(t, err, syscall.EADDRINUSE)
	again, err := net.Listen("tcp", addr)
	require.NoError(t, err, "Addr is still bound after a failed Start")
	assert.NoError(t, again.Close())
	assert.Equal(t, addr, srv.Addr(), "Addr before a successful Start")
}

func TestAddrReportsRealPortAndServesMetrics(t *testing.T) {
	srv := start(t, newRegistry(t), httpserver.Options{Addr: "127.0.0.1:0"})

	host, port, err := net.SplitHostPort(srv.Addr())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.NotEqual(t, "0", port)

	code, body := get(t, http.DefaultClient, "http://"+srv.Addr()+"/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "\ntest_events_total 3\n")
}

func TestAddrBeforeStart(t *testing.T) {
	tests := []struct {
		name string
		addr string
		want string
	}{
		{"default", "", ":9091"},
		{"explicit", "127.0.0.1:0", "127.0.0.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := httpserver.New(newRegistry(t), httpserver.Options{Addr: tt.addr})
			require.NoError(t, err)
			assert.Equal(t, tt.want, srv.Addr())
		})
	}
}

func TestPaths(t *testing.T) {
	srv := start(t, newRegistry(t), httpserver.Options{})
	tests := []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{"/healthz", http.StatusOK, "ok\n"},
		{"/metrics", http.StatusOK, ""},
		{"/", http.StatusNotFound, ""},
		{"/metrics/extra", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body := get(t, http.DefaultClient, "http://"+srv.Addr()+tt.path)
			assert.Equal(t, tt.wantCode, code)
			if tt.wantBody != "" {
				assert.Equal(t, tt.wantBody, body)
			}
		})
	}
}

func TestLifecycleMisuse(t *testing.T) {
	t.Run("Start twice", func(t *testing.T) {
		srv := start(t, newRegistry(t), httpserver.Options{})
		assert.ErrorContains(t, srv.Start(), "Start called twice")
	})
	t.Run("Start after Shutdown", func(t *testing.T) {
		srv, err := httpserver.New(newRegistry(t), httpserver.Options{Addr: "127.0.0.1:0"})
		require.NoError(t, err)
		require.NoError(t, srv.Shutdown(context.Background()))
		assert.ErrorContains(t, srv.Start(), "after Shutdown")
		assert.ErrorContains(t, srv.Wait(), "not started")
	})
	t.Run("Wait and repeated Shutdown after a clean stop", func(t *testing.T) {
		srv, err := httpserver.New(newRegistry(t), httpserver.Options{Addr: "127.0.0.1:0"})
		require.NoError(t, err)
		require.NoError(t, srv.Start())
		waited := make(chan error, 1)
		go func() { waited <- srv.Wait() }()
		require.NoError(t, srv.Shutdown(context.Background()))
		select {
		case err := <-waited:
			assert.NoError(t, err)
		case <-time.After(waitLimit):
			require.FailNow(t, "Wait did not return after Shutdown")
		}
		assert.NoError(t, srv.Shutdown(context.Background()))
	})
}

// TestGracefulShutdown holds a scrape inside the gatherer, calls Shutdown,
// checks that the listener is closed while Shutdown keeps waiting, then lets
// the scrape finish: it must get its 200 and Shutdown must return nil.
func TestGracefulShutdown(t *testing.T) {
	bg := newBlockingGatherer(newRegistry(t))
	srv, err := httpserver.New(bg, httpserver.Options{Addr: "127.0.0.1:0"})
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	addr := srv.Addr()

	type result struct {
		code int
		body string
		err  error
	}
	scraped := make(chan result, 1)
	go func() {
		code, body, err := fetch(http.DefaultClient, "http://"+addr+"/metrics")
		scraped <- result{code, body, err}
	}()
	bg.waitEntered(t)

	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		shutdownErr <- srv.Shutdown(ctx)
	}()

	// Shutdown closes the listener first; wait until new connections fail.
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return true
		}
		assert.NoError(t, c.Close())
		return false
	}, waitLimit, 10*time.Millisecond, "listener still accepting after Shutdown")

	select {
	case err := <-shutdownErr:
		require.FailNow(t, "Shutdown returned while a scrape was in flight", "error: %v", err)
	default:
	}

	close(bg.release)
	select {
	case r := <-scraped:
		require.NoError(t, r.err)
		assert.Equal(t, http.StatusOK, r.code)
		assert.Contains(t, r.body, "\ntest_events_total 3\n")
	case <-time.After(waitLimit):
		require.FailNow(t, "in-flight scrape did not complete")
	}
	select {
	case err := <-shutdownErr:
		assert.NoError(t, err)
	case <-time.After(waitLimit):
		require.FailNow(t, "Shutdown did not return after the scrape completed")
	}
}

// TestShutdownContextExpires checks the forced path: a scrape that never
// finishes makes Shutdown return the context's error after closing the
// connection.
func TestShutdownContextExpires(t *testing.T) {
	bg := newBlockingGatherer(newRegistry(t))
	defer close(bg.release)
	srv, err := httpserver.New(bg, httpserver.Options{Addr: "127.0.0.1:0"})
	require.NoError(t, err)
	require.NoError(t, srv.Start())

	clientErr := make(chan error, 1)
	go func() {
		_, _, err := fetch(http.DefaultClient, "http://"+srv.Addr()+"/metrics")
		clientErr <- err
	}()
	bg.waitEntered(t)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = srv.Shutdown(ctx)
	assert.ErrorIs(t, err, context.Canceled)

	select {
	case err := <-clientErr:
		assert.Error(t, err, "the forcibly closed scrape must fail")
	case <-time.After(waitLimit):
		require.FailNow(t, "client still connected after a forced shutdown")
	}
}

// TestImmediateShutdown shuts servers down right after Start, racing the
// background serve loop (plain and TLS): Shutdown must neither hang nor
// report an error, and the port must be released.
func TestImmediateShutdown(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	tlsConfig := writeWebConfig(t, dir, "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n")
	tests := []struct {
		name string
		opts httpserver.Options
	}{
		{"plain", httpserver.Options{Addr: "127.0.0.1:0"}},
		{"TLS", httpserver.Options{Addr: "127.0.0.1:0", WebConfigFile: tlsConfig}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 {
				srv, err := httpserver.New(newRegistry(t), tt.opts)
				require.NoError(t, err)
				require.NoError(t, srv.Start())
				ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
				err = srv.Shutdown(ctx)
				cancel()
				require.NoError(t, err)
				require.NoError(t, srv.Wait())

				ln, err := net.Listen("tcp", srv.Addr())
				require.NoError(t, err, "port still bound after Shutdown")
				require.NoError(t, ln.Close())
			}
		})
	}
}
