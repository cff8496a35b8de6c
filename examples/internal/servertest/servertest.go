package servertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpcmetrics/grpcmetrics/examples/fault"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
)

// PanicPrefix starts the message of the [codes.Internal] error that the
// interceptor of [Recovery] returns for a panic.
const PanicPrefix = "recovered panic: "

// Recovery returns a server option with a unary interceptor that turns a
// handler panic into a [codes.Internal] error whose message starts with
// [PanicPrefix], so a test binary survives the [fault.Panic] fault.
func Recovery() grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, status.Errorf(codes.Internal, "%s%v", PanicPrefix, p)
			}
		}()
		return h(ctx, req)
	})
}

// Start serves srv on an in-memory listener until the test ends and returns a
// client connection to it.
func Start(t testing.TB, srv *grpc.Server) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Errorf("closing client: %v", err)
		}
		srv.Stop()
		if err := <-done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("Serve: %v", err)
		}
	})
	return conn
}

// StatusOf returns the Milvus status of resp: resp itself if it is a
// [commonpb.Status], else its "status" field. It reports false if resp has no
// status field.
func StatusOf(resp proto.Message) (*commonpb.Status, bool) {
	if st, ok := resp.(*commonpb.Status); ok {
		return st, true
	}
	m := resp.ProtoReflect()
	f := m.Descriptor().Fields().ByName("status")
	if f == nil {
		return nil, false
	}
	st, ok := m.Get(f).Message().Interface().(*commonpb.Status)
	return st, ok
}

// Invoke calls method md of the service on conn with an empty request of its
// input type, with ctx, and returns the response.
func Invoke(ctx context.Context, conn grpc.ClientConnInterface, md protoreflect.MethodDescriptor) (proto.Message, error) {
	in, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	if err != nil {
		return nil, err
	}
	out, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		return nil, err
	}
	resp := out.New().Interface()
	full := fmt.Sprintf("/%s/%s", md.Parent().FullName(), md.Name())
	return resp, conn.Invoke(ctx, full, in.New().Interface(), resp)
}

// FaultMatrix calls every method of the named service on conn with an empty
// request, once per fault mode and once without, in subtests, and checks that
// the fault reaches the client: [fault.Error] and [fault.Panic] as
// [codes.Internal] errors (the server must use [Recovery]), [fault.ErrorCode]
// and [fault.Code] as the failing status of [fault.Mode.Status] (or success,
// for a response without a status), and no fault as anything but
// [codes.Unimplemented].
func FaultMatrix(t *testing.T, conn grpc.ClientConnInterface, service protoreflect.FullName) {
	t.Helper()
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(service)
	if err != nil {
		t.Fatalf("service %s: %v", service, err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		t.Fatalf("%s is a %T, not a service", service, d)
	}
	modes := append([]fault.Mode{fault.None}, fault.Modes()...)
	for i := range sd.Methods().Len() {
		md := sd.Methods().Get(i)
		for _, m := range modes {
			t.Run(fmt.Sprintf("%s/%s", md.Name(), m), func(t *testing.T) {
				ctx := fault.AppendToOutgoingContext(t.Context(), m)
				resp, err := Invoke(ctx, conn, md)
				checkFault(t, m, resp, err)
			})
		}
	}
}

func checkFault(t *testing.T, m fault.Mode, resp proto.Message, err error) {
	t.Helper()
	switch m {
	case fault.None:
		if status.Code(err) == codes.Unimplemented {
			t.Fatalf("method is not implemented: %v", err)
		}
	case fault.Error, fault.Panic:
		if status.Code(err) != codes.Internal {
			t.Fatalf("error = %v, want code %v", err, codes.Internal)
		}
		if isPanic := strings.HasPrefix(status.Convert(err).Message(), PanicPrefix); isPanic != (m == fault.Panic) {
			t.Fatalf("error %q: recovered panic = %t, want %t", status.Convert(err).Message(), isPanic, m == fault.Panic)
		}
	case fault.ErrorCode, fault.Code:
		if err != nil {
			t.Fatalf("error = %v, want a response", err)
		}
		st, ok := StatusOf(resp)
		if !ok {
			return // no status: the fault is a no-op
		}
		want := m.Status()
		if st.GetErrorCode() != want.GetErrorCode() || st.GetCode() != want.GetCode() {
			t.Fatalf("status = {error_code: %v, code: %d}, want {error_code: %v, code: %d}",
				st.GetErrorCode(), st.GetCode(), want.GetErrorCode(), want.GetCode())
		}
	default:
		t.Fatalf("unknown mode %q", m)
	}
}

// Step is one call of a scenario and the outcome it must have.
type Step struct {
	// Name names the subtest.
	Name string
	// Call makes the call.
	Call func(ctx context.Context) (proto.Message, error)
	// WantCode is the gRPC code of the error; [codes.OK] for a response.
	WantCode codes.Code
	// WantErrorCode is the error_code of the response's Milvus status.
	WantErrorCode commonpb.ErrorCode
	// Check, if not nil, checks the response further.
	Check func(t *testing.T, resp proto.Message)
}

// RunSteps runs the steps in order, each in a subtest.
func RunSteps(t *testing.T, steps []Step) {
	t.Helper()
	for _, s := range steps {
		t.Run(s.Name, func(t *testing.T) {
			resp, err := s.Call(t.Context())
			if status.Code(err) != s.WantCode {
				t.Fatalf("error = %v, want code %v", err, s.WantCode)
			}
			if err != nil {
				return
			}
			if st, ok := StatusOf(resp); ok && st.GetErrorCode() != s.WantErrorCode {
				t.Fatalf("status = %v, want error_code %v", st, s.WantErrorCode)
			}
			if s.Check != nil {
				s.Check(t, resp)
			}
		})
	}
}
