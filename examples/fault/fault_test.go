package fault_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
)

// incoming turns the outgoing metadata that a client sets with
// AppendToOutgoingContext into the incoming metadata a server sees.
func incoming(t *testing.T, m fault.Mode) context.Context {
	t.Helper()
	md, ok := metadata.FromOutgoingContext(fault.AppendToOutgoingContext(t.Context(), m))
	require.Equal(t, m != fault.None, ok, "outgoing metadata present for mode %q", m)
	return metadata.NewIncomingContext(t.Context(), md)
}

func TestRoundTrip(t *testing.T) {
	for _, m := range append([]fault.Mode{fault.None}, fault.Modes()...) {
		t.Run(m.String(), func(t *testing.T) {
			got, err := fault.FromIncomingContext(incoming(t, m))
			require.NoError(t, err)
			require.Equal(t, m, got)
		})
	}
}

func TestUnknownMode(t *testing.T) {
	ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs(fault.MetadataKey, "ERROR"))
	_, err := fault.FromIncomingContext(ctx)
	require.Equal(t, codes.InvalidArgument, status.Code(err), "error %v", err)
}

// handled runs Handle with a handler that answers ok and records its call.
func handled[Resp proto.Message](t *testing.T, m fault.Mode, ok Resp) (resp Resp, called bool, err error) {
	t.Helper()
	resp, err = fault.Handle(incoming(t, m), func() (Resp, error) {
		called = true
		return ok, nil
	})
	return resp, called, err
}

func TestHandle(t *testing.T) {
	tests := []struct {
		mode       fault.Mode
		wantCode   codes.Code
		wantCalled bool
		// wantStatus is the status of the bare and the wrapped response,
		// nil for the handler's own.
		wantStatus *commonpb.Status
	}{
		{mode: fault.None, wantCalled: true},
		{mode: fault.Error, wantCode: codes.Internal},
		{mode: fault.ErrorCode, wantStatus: &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError}},
		{mode: fault.Code, wantStatus: &commonpb.Status{Code: fault.FailingCode}},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			okStatus := &commonpb.Status{Reason: "handler"}
			checks := []struct {
				name string
				run  func() (*commonpb.Status, bool, error)
			}{
				{"bare", func() (*commonpb.Status, bool, error) { return handled(t, tt.mode, okStatus) }},
				{"field", func() (*commonpb.Status, bool, error) {
					r, called, err := handled(t, tt.mode, &milvuspb.BoolResponse{Status: okStatus})
					return r.GetStatus(), called, err
				}},
			}
			for _, c := range checks {
				st, called, err := c.run()
				require.Equal(t, tt.wantCode, status.Code(err), "%s: error %v", c.name, err)
				require.Equal(t, tt.wantCalled, called, "%s: handler called", c.name)
				if err != nil {
					continue
				}
				want := tt.wantStatus
				if want == nil {
					want = okStatus
				}
				assert.Equal(t, want.GetErrorCode(), st.GetErrorCode(), "%s: error_code of %v", c.name, st)
				assert.Equal(t, want.GetCode(), st.GetCode(), "%s: code of %v", c.name, st)
			}
		})
	}
}

func TestHandleNoStatus(t *testing.T) {
	for _, m := range []fault.Mode{fault.ErrorCode, fault.Code} {
		t.Run(m.String(), func(t *testing.T) {
			resp, called, err := handled(t, m, &milvuspb.DummyResponse{Response: "ok"})
			require.NoError(t, err)
			require.True(t, called, "the handler must run")
			require.Equal(t, "ok", resp.GetResponse(), "the handler's response")
		})
	}
}

func TestHandlePanic(t *testing.T) {
	assert.Panics(t, func() {
		_, _, err := handled(t, fault.Panic, &milvuspb.DummyResponse{})
		assert.Fail(t, "Handle returned", "error %v", err)
	})
}
