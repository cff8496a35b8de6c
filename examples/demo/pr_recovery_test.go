package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
)

// TestPrPanicHiddenFromClient calls handlers of the demo that panic, through
// its own clients, and checks that each client gets codes.Internal with a
// fixed message, neither the panic value nor a stack, while the demo's log
// has the panic with its stack (with -v: the demo provokes panics on purpose
// and logs them only then).
func TestPrPanicHiddenFromClient(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	cfg := loopback()
	cfg.verbose = true
	d, err := start(cfg, zap.New(core))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // only bounds a hang
	defer cancel()
	ctx = fault.AppendToOutgoingContext(ctx, fault.Panic)

	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"proxy DescribeCollection", func() error {
			_, err := d.proxy.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: "pr"})
			return err
		}},
		{"rootcoord CreateCollection", func() error {
			_, err := d.rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{Base: &commonpb.MsgBase{SourceID: 1}, CollectionName: "pr"})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs.TakeAll()
			err := tt.call()
			st := status.Convert(err)
			assert.Equal(t, codes.Internal, st.Code(), "%v", err)
			assert.Equal(t, "internal error", st.Message())
			for _, leak := range []string{"injected fault", "panic", "goroutine", ".go:"} {
				assert.NotContains(t, err.Error(), leak)
			}
			var panics []observer.LoggedEntry
			for _, e := range logs.All() {
				if _, ok := e.ContextMap()["panic"]; ok {
					panics = append(panics, e)
				}
			}
			require.Len(t, panics, 1, "the panic is logged once, on the server")
			assert.Contains(t, panics[0].ContextMap()["stack"], "examples/fault.Handle")
		})
	}
}
