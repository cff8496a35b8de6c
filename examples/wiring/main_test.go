package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
)

// started runs run in the background on loopback ports and returns the
// bound gRPC and metrics addresses (read from its "serving" log entry), the
// observed logs, and a stop function that ends run and returns its error.
func started(t *testing.T) (grpcAddr, metricsAddr string, logs *observer.ObservedLogs, stop func() error) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	// serving is told when run logs "serving" (after the observer has the
	// entry): the event the test waits for.
	serving := make(chan struct{}, 1)
	logger := zap.New(core, zap.Hooks(func(e zapcore.Entry) error {
		if e.Message == "serving" {
			select {
			case serving <- struct{}{}:
			default:
			}
		}
		return nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", "127.0.0.1:0", logger) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute): // only bounds a hang: run stops within 10 s
			return context.DeadlineExceeded
		}
	}
	t.Cleanup(func() { assert.NoError(t, stop()) })

	select {
	case <-serving:
	case err := <-done:
		stopped = true
		require.FailNow(t, "run returned before serving", "error: %v", err)
	}
	entries := logs.FilterMessage("serving").All()
	require.Len(t, entries, 1)
	fields := entries[0].ContextMap()
	grpcAddr, _ = fields["grpc"].(string)
	metricsAddr, _ = fields["metrics"].(string)
	require.NotEmpty(t, grpcAddr, "serving entry without a grpc address: %v", fields)
	require.NotEmpty(t, metricsAddr, "serving entry without a metrics address: %v", fields)
	return grpcAddr, metricsAddr, logs, stop
}

// TestRun runs the program, calls it over real gRPC and checks that
// /metrics counts the calls, including a panic that the client sees only as
// "internal error" and the server logs.
func TestRun(t *testing.T) {
	grpcAddr, metricsAddr, logs, stop := started(t)

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, conn.Close()) })
	rc := rootcoordpb.NewRootCoordClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := &commonpb.MsgBase{SourceID: 7}

	st, err := rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: "books"})
	require.NoError(t, err)
	assert.Equal(t, commonpb.ErrorCode_Success, st.GetErrorCode())

	st, err = rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: base, CollectionName: "books"})
	require.NoError(t, err)
	assert.NotEqual(t, commonpb.ErrorCode_Success, st.GetErrorCode(), "a duplicate must be a failing status")

	_, err = rc.CreateCollection(fault.AppendToOutgoingContext(ctx, fault.Panic),
		&milvuspb.CreateCollectionRequest{Base: base, CollectionName: "other"})
	require.Error(t, err)
	assert.Equal(t, codes.Internal, status.Code(err))
	assert.Equal(t, "internal error", status.Convert(err).Message(), "the panic must not reach the client")

	has, err := rc.HasCollection(ctx, &milvuspb.HasCollectionRequest{CollectionName: "books"})
	require.NoError(t, err)
	assert.True(t, has.GetValue())

	panics := logs.FilterMessage("handler panic").All()
	require.Len(t, panics, 1, "the panic is logged once, server-side")
	fields := panics[0].ContextMap()
	assert.Contains(t, fields, "panic")
	assert.Contains(t, fields["stack"], "examples/fault.Handle", "the log carries the stack of the panicking handler")

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, line := range []string{
		`milvus_rootcoord_create_collection_total{client_id="client_7",type="total"} 3`,
		`milvus_rootcoord_create_collection_total{client_id="client_7",type="success"} 1`,
		`milvus_rootcoord_create_collection_total{client_id="client_7",type="fail"} 2`,
		`milvus_rootcoord_has_collection_total{client_id="client_unknown",type="total"} 1`,
		`milvus_rootcoord_has_collection_total{client_id="client_unknown",type="success"} 1`,
		`grpcmetrics_client_ids 1`, // client_7; the fixed client_unknown is not counted
	} {
		assert.Contains(t, string(body), "\n"+line+"\n")
	}
	assert.NotContains(t, string(body), "milvus_proxy_", "only the RootCoord counters are registered")

	require.NoError(t, stop())
	_, err = net.DialTimeout("tcp", grpcAddr, time.Second)
	assert.Error(t, err, "the gRPC listener is closed after run returns")
	_, err = http.Get("http://" + metricsAddr + "/metrics")
	assert.Error(t, err, "the metrics server is shut down after run returns")
}

// TestRunBusyMetricsAddr checks that a /metrics address in use is an error
// from run, not a log line.
func TestRunBusyMetricsAddr(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, busy.Close()) })
	err = run(context.Background(), "127.0.0.1:0", busy.Addr().String(), zap.NewNop())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "address already in use")
}

// TestRunStopsAtOnce checks that a context that is already done (a signal
// right at start, say) stops run cleanly, without an error.
func TestRunStopsAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, run(ctx, "127.0.0.1:0", "127.0.0.1:0", zap.NewNop()))
}
