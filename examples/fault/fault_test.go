package fault_test

import (
	"context"
	"testing"

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
	if ok == (m == fault.None) {
		t.Fatalf("outgoing metadata present = %t for mode %q", ok, m)
	}
	return metadata.NewIncomingContext(t.Context(), md)
}

func TestRoundTrip(t *testing.T) {
	for _, m := range append([]fault.Mode{fault.None}, fault.Modes()...) {
		t.Run(m.String(), func(t *testing.T) {
			got, err := fault.FromIncomingContext(incoming(t, m))
			if err != nil || got != m {
				t.Fatalf("FromIncomingContext = %q, %v; want %q, nil", got, err, m)
			}
		})
	}
}

func TestUnknownMode(t *testing.T) {
	ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs(fault.MetadataKey, "ERROR"))
	if _, err := fault.FromIncomingContext(ctx); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("error = %v, want code %v", err, codes.InvalidArgument)
	}
}

// handled runs Handle with a handler that answers ok and records its call.
func handled[Resp proto.Message](t *testing.T, m fault.Mode, ok Resp) (resp Resp, called bool, err error) {
	t.Helper()
	resp, err = fault.Handle(incoming(t, m), "req", func(req string) (Resp, error) {
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
				if status.Code(err) != tt.wantCode || called != tt.wantCalled {
					t.Fatalf("%s: error %v, called %t; want code %v, called %t", c.name, err, called, tt.wantCode, tt.wantCalled)
				}
				if err != nil {
					continue
				}
				want := tt.wantStatus
				if want == nil {
					want = okStatus
				}
				if st.GetErrorCode() != want.GetErrorCode() || st.GetCode() != want.GetCode() {
					t.Errorf("%s: status %v, want error_code %v code %d", c.name, st, want.GetErrorCode(), want.GetCode())
				}
			}
		})
	}
}

func TestHandleNoStatus(t *testing.T) {
	for _, m := range []fault.Mode{fault.ErrorCode, fault.Code} {
		t.Run(m.String(), func(t *testing.T) {
			resp, called, err := handled(t, m, &milvuspb.DummyResponse{Response: "ok"})
			if err != nil || !called || resp.GetResponse() != "ok" {
				t.Fatalf("Handle = %v, %v, called %t; want the handler's response", resp, err, called)
			}
		})
	}
}

func TestHandlePanic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Handle did not panic")
		}
	}()
	_, _, err := handled(t, fault.Panic, &milvuspb.DummyResponse{})
	t.Errorf("Handle returned %v", err)
}
