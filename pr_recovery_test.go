package grpcmetrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
)

// TestPrPanicHiddenFromClient calls handlers that panic on the stack that
// the real-Prometheus tests build the way the demo does (recovery outermost,
// then the counters), and checks that the client gets codes.Internal with a
// fixed message: neither the panic value nor the goroutine's stack.
func TestPrPanicHiddenFromClient(t *testing.T) {
	s := promNewStack(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = fault.AppendToOutgoingContext(ctx, fault.Panic)
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"proxy Dummy", func() error {
			_, err := s.proxy.Dummy(ctx, &milvuspb.DummyRequest{RequestType: "ping"})
			return err
		}},
		{"rootcoord CreateCollection", func() error {
			_, err := s.rc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{CollectionName: "pr_panic"})
			return err
		}},
		{"rootcoord ShowCollections", func() error {
			_, err := s.rc.ShowCollections(ctx, &milvuspb.ShowCollectionsRequest{})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Error(t, err)
			st := status.Convert(err)
			assert.Equal(t, codes.Internal, st.Code(), "%v", err)
			assert.Equal(t, "internal error", st.Message())
			for _, leak := range []string{"injected fault", "panic", "goroutine", ".go:"} {
				assert.NotContains(t, st.Message(), leak)
			}
		})
	}
}

var _ rootcoordpb.RootCoordClient // the stack's rootcoord client type
