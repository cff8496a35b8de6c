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
	assert.Equal(t, 4, srv.opts.MaxRequestsInFlightPerClient)
	assert.Equal(t, 10, srv.opts.ScrapeMaxRequestsInFlight)
	assert.Empty(t, srv.ScrapeAddr())
	require.Len(t, srv.listeners, 1)
	assert.Equal(t, 30*time.Second, srv.opts.Timeout)
	assert.NotNil(t, srv.opts.Logger)

	h := srv.listeners[0].hs
	assert.Equal(t, ":9091", h.Addr)
	assert.Equal(t, 5*time.Second, h.ReadHeaderTimeout)
	assert.Equal(t, 10*time.Second, h.ReadTimeout)
	assert.Equal(t, 35*time.Second, h.WriteTimeout)
	assert.Equal(t, 2*time.Minute, h.IdleTimeout)

	t.Run("WriteTimeout follows Timeout", func(t *testing.T) {
		srv, err := New(prometheus.NewRegistry(), Options{Timeout: time.Minute})
		require.NoError(t, err)
		assert.Equal(t, time.Minute+5*time.Second, srv.listeners[0].hs.WriteTimeout)
	})
	t.Run("the scrape listener has the same timeouts", func(t *testing.T) {
		srv, err := New(prometheus.NewRegistry(), Options{ScrapeAddr: "127.0.0.1:9092"})
		require.NoError(t, err)
		require.Len(t, srv.listeners, 2)
		h := srv.listeners[1].hs
		assert.Equal(t, "127.0.0.1:9092", srv.ScrapeAddr())
		assert.Equal(t, "127.0.0.1:9092", h.Addr)
		assert.Equal(t, 5*time.Second, h.ReadHeaderTimeout)
		assert.Equal(t, 10*time.Second, h.ReadTimeout)
		assert.Equal(t, 35*time.Second, h.WriteTimeout)
		assert.Equal(t, 2*time.Minute, h.IdleTimeout)
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
		assert.Equal(t, "127.0.0.1:1234", srv.listeners[0].hs.Addr)
		assert.Equal(t, 2*time.Second, srv.listeners[0].hs.ReadHeaderTimeout)
		assert.Equal(t, 3*time.Second, srv.listeners[0].hs.ReadTimeout)
		assert.Equal(t, 4*time.Second, srv.listeners[0].hs.WriteTimeout)
		assert.Equal(t, 5*time.Second, srv.listeners[0].hs.IdleTimeout)
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

// TestServeErrorIsLoggedAndReturned checks that an error ending a
// background serve loop is logged and returned by Wait and by Shutdown, and
// that it stops the other listener too.
func TestServeErrorIsLoggedAndReturned(t *testing.T) {
	tests := []struct {
		name   string
		scrape bool // a second listener, and the broken one
	}{
		{"the only listener breaks", false},
		{"the scrape listener breaks", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			o := Options{Addr: "127.0.0.1:0", Logger: zap.New(core)}
			if tt.scrape {
				o.ScrapeAddr = "127.0.0.1:0"
			}
			srv, err := New(prometheus.NewRegistry(), o)
			require.NoError(t, err)
			var lns []net.Listener
			for _, l := range srv.listeners {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				lns = append(lns, ln)
				l.ln = ln
			}
			broken := lns[len(lns)-1]
			srv.listeners[len(lns)-1].ln = brokenListener{broken}

			srv.mu.Lock()
			srv.startLocked()
			srv.mu.Unlock()

			waitErr := srv.Wait()
			require.Error(t, waitErr)
			assert.ErrorContains(t, waitErr, "listener broken")
			assert.ErrorContains(t, waitErr, broken.Addr().String())

			stopped := logs.FilterMessage("httpserver: metrics server stopped").All()
			require.Len(t, stopped, 1)
			assert.Equal(t, zapcore.ErrorLevel, stopped[0].Level)

			// Every listener is closed: the broken one by its serve loop,
			// the other with the server.
			for _, ln := range lns {
				_, err = ln.Accept()
				assert.ErrorIs(t, err, net.ErrClosed)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			assert.ErrorIs(t, srv.Shutdown(ctx), waitErr)
		})
	}
}
