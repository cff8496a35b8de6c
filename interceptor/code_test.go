package interceptor

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestCodeOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want codes.Code
	}{
		{"nil", nil, codes.OK},
		{"status", status.Error(codes.NotFound, "x"), codes.NotFound},
		{"wrapped status", fmt.Errorf("wrapped: %w", status.Error(codes.Aborted, "x")), codes.Aborted},
		{"canceled", context.Canceled, codes.Canceled},
		{"wrapped deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{"plain", errors.New("x"), codes.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, codeOf(tt.err))
		})
	}
	st := status.Error(codes.NotFound, "x")
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		codeOf(st)
		codeOf(context.Canceled)
		codeOf(nil)
	}))
}
