package httpserver_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// failingGatherer always fails.
type failingGatherer struct{}

func (failingGatherer) Gather() ([]*dto.MetricFamily, error) {
	return nil, errors.New("collector exploded")
}

// TestPromhttpErrorsAreLogged checks that promhttp's errors reach the
// injected zap logger, with the error as a structured field.
func TestPromhttpErrorsAreLogged(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	srv := start(t, failingGatherer{}, httpserver.Options{Logger: zap.New(core)})

	code, _ := get(t, http.DefaultClient, "http://"+srv.Addr()+"/metrics")
	assert.Equal(t, http.StatusInternalServerError, code)

	entries := logs.FilterMessage("error gathering metrics:").All()
	require.Len(t, entries, 1)
	assert.Equal(t, zapcore.ErrorLevel, entries[0].Level)
	assert.Equal(t, "collector exploded", entries[0].ContextMap()["error"])
}

// TestExporterToolkitLogsThroughZap checks the slog bridge: exporter-toolkit
// announces the listener through the injected zap logger, keeping its name
// and fields.
func TestExporterToolkitLogsThroughZap(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	logger := zap.New(core).Named("metrics").With(zap.String("component", "test"))
	srv := start(t, prometheus.NewRegistry(), httpserver.Options{Logger: logger})

	// Serving starts in the background; healthz answering means the
	// messages logged before Serve have been written.
	code, _ := get(t, http.DefaultClient, "http://"+srv.Addr()+"/healthz")
	require.Equal(t, http.StatusOK, code)

	entries := logs.FilterMessage("Listening on").All()
	require.Len(t, entries, 1)
	assert.Equal(t, "metrics", entries[0].LoggerName)
	assert.Equal(t, srv.Addr(), entries[0].ContextMap()["address"])
	assert.Equal(t, "test", entries[0].ContextMap()["component"])
}
