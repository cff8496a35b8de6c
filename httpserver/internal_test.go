package httpserver

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestDefaults checks the values a zero Options turns into, and that they
// reach the http.Server.
func TestDefaults(t *testing.T) {
	srv, err := New(prometheus.NewRegistry(), Options{})
	require.NoError(t, err)
	assert.Equal(t, ":9091", srv.opts.Addr)
	assert.Equal(t, 40, srv.opts.MaxRequestsInFlight)
	assert.Equal(t, 30*time.Second, srv.opts.Timeout)
	assert.NotNil(t, srv.opts.Logger)

	h := srv.hs
	assert.Equal(t, ":9091", h.Addr)
	assert.Equal(t, 5*time.Second, h.ReadHeaderTimeout)
	assert.Equal(t, 10*time.Second, h.ReadTimeout)
	assert.Equal(t, 35*time.Second, h.WriteTimeout)
	assert.Equal(t, 2*time.Minute, h.IdleTimeout)

	t.Run("WriteTimeout follows Timeout", func(t *testing.T) {
		srv, err := New(prometheus.NewRegistry(), Options{Timeout: time.Minute})
		require.NoError(t, err)
		assert.Equal(t, time.Minute+5*time.Second, srv.hs.WriteTimeout)
	})
	t.Run("explicit values are kept", func(t *testing.T) {
		o := Options{
			Addr:                "127.0.0.1:1234",
			MaxRequestsInFlight: 7,
			Timeout:             time.Second,
			ReadHeaderTimeout:   2 * time.Second,
			ReadTimeout:         3 * time.Second,
			WriteTimeout:        4 * time.Second,
			IdleTimeout:         5 * time.Second,
		}
		srv, err := New(prometheus.NewRegistry(), o)
		require.NoError(t, err)
		assert.Equal(t, 7, srv.opts.MaxRequestsInFlight)
		assert.Equal(t, "127.0.0.1:1234", srv.hs.Addr)
		assert.Equal(t, 2*time.Second, srv.hs.ReadHeaderTimeout)
		assert.Equal(t, 3*time.Second, srv.hs.ReadTimeout)
		assert.Equal(t, 4*time.Second, srv.hs.WriteTimeout)
		assert.Equal(t, 5*time.Second, srv.hs.IdleTimeout)
	})
}

// brokenListener fails every Accept with a permanent error, as a listener
// whose socket broke after Start would.
type brokenListener struct {
	net.Listener
}

func (brokenListener) Accept() (net.Conn, error) {
	return nil, errors.New("accept: listener broken")
}

// TestServeErrorIsLoggedAndReturned checks that an error ending the
// background serve loop is logged and returned by Wait and by Shutdown.
func TestServeErrorIsLoggedAndReturned(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	srv, err := New(prometheus.NewRegistry(), Options{Addr: "127.0.0.1:0", Logger: zap.New(core)})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	srv.mu.Lock()
	srv.startLocked(brokenListener{ln})
	srv.mu.Unlock()

	waitErr := srv.Wait()
	require.Error(t, waitErr)
	assert.ErrorContains(t, waitErr, "listener broken")
	assert.ErrorContains(t, waitErr, ln.Addr().String())

	stopped := logs.FilterMessage("httpserver: metrics server stopped").All()
	require.Len(t, stopped, 1)
	assert.Equal(t, zapcore.ErrorLevel, stopped[0].Level)

	// The serve loop closed the listener it was given.
	_, err = ln.Accept()
	assert.ErrorIs(t, err, net.ErrClosed)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.ErrorIs(t, srv.Shutdown(ctx), waitErr)
}
