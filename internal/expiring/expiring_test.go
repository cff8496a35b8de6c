package expiring_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/internal/expiring"
)

type key struct{}

func TestExpire(t *testing.T) {
	parent := context.WithValue(t.Context(), key{}, "v")
	ctx := expiring.New(parent)
	child, cancel := context.WithCancel(ctx)
	defer cancel()

	deadline, ok := ctx.Deadline()
	require.True(t, ok)
	assert.Greater(t, time.Until(deadline), expiring.Far-time.Minute)
	assert.Equal(t, "v", ctx.Value(key{}))
	assert.NoError(t, ctx.Err())
	assert.NoError(t, child.Err())
	select {
	case <-ctx.Done():
		t.Fatal("done before Expire")
	default:
	}

	ctx.Expire()
	ctx.Expire() // again: nothing
	<-ctx.Done()
	assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
	<-child.Done() // a derived context ends with it, as after a deadline
	assert.ErrorIs(t, child.Err(), context.DeadlineExceeded)
}
