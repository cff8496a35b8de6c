package httpserver_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// TestNewRejectsInvalidOptions checks that each invalid input fails New with
// an error naming what is wrong.
func TestNewRejectsInvalidOptions(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		return path
	}
	tests := []struct {
		name        string
		nilGatherer bool
		opts        httpserver.Options
		wantErr     []string // substrings of the error
	}{
		{name: "nil gatherer", nilGatherer: true, wantErr: []string{"non-nil prometheus.Gatherer"}},
		{name: "address without port", opts: httpserver.Options{Addr: "localhost"}, wantErr: []string{"Options.Addr", `"localhost"`}},
		{name: "negative MaxRequestsInFlight", opts: httpserver.Options{MaxRequestsInFlight: -1}, wantErr: []string{"Options.MaxRequestsInFlight", "-1"}},
		{name: "negative MaxRequestsInFlightPerClient", opts: httpserver.Options{MaxRequestsInFlightPerClient: -2}, wantErr: []string{"Options.MaxRequestsInFlightPerClient", "-2"}},
		{name: "negative ScrapeMaxRequestsInFlight", opts: httpserver.Options{ScrapeAddr: ":9092", ScrapeMaxRequestsInFlight: -3}, wantErr: []string{"Options.ScrapeMaxRequestsInFlight", "-3"}},
		{name: "ScrapeMaxRequestsInFlight without ScrapeAddr", opts: httpserver.Options{ScrapeMaxRequestsInFlight: 3}, wantErr: []string{"Options.ScrapeMaxRequestsInFlight needs Options.ScrapeAddr"}},
		{name: "scrape address without port", opts: httpserver.Options{ScrapeAddr: "localhost"}, wantErr: []string{"Options.ScrapeAddr", `"localhost"`}},
		{name: "scrape address is the address", opts: httpserver.Options{Addr: "127.0.0.1:9091", ScrapeAddr: "127.0.0.1:9091"}, wantErr: []string{"Options.ScrapeAddr", "is Options.Addr"}},
		{name: "negative Timeout", opts: httpserver.Options{Timeout: -time.Second}, wantErr: []string{"Options.Timeout", "-1s"}},
		{name: "negative ReadHeaderTimeout", opts: httpserver.Options{ReadHeaderTimeout: -time.Second}, wantErr: []string{"Options.ReadHeaderTimeout"}},
		{name: "negative ReadTimeout", opts: httpserver.Options{ReadTimeout: -time.Second}, wantErr: []string{"Options.ReadTimeout"}},
		{name: "negative WriteTimeout", opts: httpserver.Options{WriteTimeout: -time.Second}, wantErr: []string{"Options.WriteTimeout"}},
		{name: "negative IdleTimeout", opts: httpserver.Options{IdleTimeout: -time.Second}, wantErr: []string{"Options.IdleTimeout"}},
		{
			name:    "WriteTimeout not above the default Timeout",
			opts:    httpserver.Options{WriteTimeout: httpserver.DefaultTimeout},
			wantErr: []string{"Options.WriteTimeout (30s) must exceed Options.Timeout (30s)"},
		},
		{
			name:    "WriteTimeout below Timeout",
			opts:    httpserver.Options{Timeout: time.Minute, WriteTimeout: time.Second},
			wantErr: []string{"Options.WriteTimeout (1s) must exceed Options.Timeout (1m0s)"},
		},
		{
			name:    "created samples without OpenMetrics",
			opts:    httpserver.Options{OpenMetricsCreatedSamples: true},
			wantErr: []string{"Options.OpenMetricsCreatedSamples needs Options.OpenMetrics"},
		},
		{
			name:    "missing web config file",
			opts:    httpserver.Options{WebConfigFile: filepath.Join(dir, "absent.yml")},
			wantErr: []string{"Options.WebConfigFile", "absent.yml", "no such file"},
		},
		{
			name:    "web config with an unknown key",
			opts:    httpserver.Options{WebConfigFile: write("unknown.yml", "tls_server_config:\n  certfile: cert.pem\n")},
			wantErr: []string{"Options.WebConfigFile", "unknown.yml", "certfile"},
		},
		{
			name:    "web config with a password that is not a bcrypt hash",
			opts:    httpserver.Options{WebConfigFile: write("plain.yml", "basic_auth_users:\n  alice: s3cret\n")},
			wantErr: []string{"Options.WebConfigFile", "plain.yml", "bcrypt"},
		},
		{
			name:    "web config with a missing key file",
			opts:    httpserver.Options{WebConfigFile: write("nokey.yml", "tls_server_config:\n  cert_file: cert.pem\n  key_file: absent.pem\n")},
			wantErr: []string{"Options.WebConfigFile", "nokey.yml", "absent.pem"},
		},
		{
			name:    "web config with a cert but no key",
			opts:    httpserver.Options{WebConfigFile: write("halftls.yml", "tls_server_config:\n  cert_file: cert.pem\n")},
			wantErr: []string{"Options.WebConfigFile", "missing one of key or key_file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g prometheus.Gatherer = prometheus.NewRegistry()
			if tt.nilGatherer {
				g = nil
			}
			srv, err := httpserver.New(g, tt.opts)
			require.Error(t, err)
			assert.Nil(t, srv)
			for _, want := range tt.wantErr {
				assert.ErrorContains(t, err, want)
			}
		})
	}
}

// TestWebConfigWithoutTLS checks the opt-in configurations that need no
// TLS material: an empty file serves openly, basic auth alone protects plain
// HTTP.
func TestWebConfigWithoutTLS(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	tests := []struct {
		name, content string
		wantCode      int
	}{
		{"empty file", "", http.StatusOK},
		{"basic auth only", "basic_auth_users:\n  alice: " + string(hash) + "\n", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeWebConfig(t, t.TempDir(), tt.content)
			srv := start(t, newRegistry(t), httpserver.Options{WebConfigFile: path})
			code, _ := get(t, http.DefaultClient, "http://"+srv.Addr()+"/metrics")
			assert.Equal(t, tt.wantCode, code)
		})
	}
}

// TestStartRevalidatesWebConfig checks that a web config file broken after
// New is reported by Start, synchronously, rather than by the background
// serve loop.
func TestStartRevalidatesWebConfig(t *testing.T) {
	path := writeWebConfig(t, t.TempDir(), "")
	srv, err := httpserver.New(prometheus.NewRegistry(), httpserver.Options{Addr: "127.0.0.1:0", WebConfigFile: path})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte("no_such_key: 1\n"), 0o600))
	err = srv.Start()
	assert.ErrorContains(t, err, "Options.WebConfigFile")
	assert.ErrorContains(t, err, "no_such_key")
}
