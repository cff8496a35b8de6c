package milvus26

import (
	"context"
	"errors"
	"fmt"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"net"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// mmServiceName is the service the tests serve: milvus-proto v2.6's
// MilvusService, Milvus's public API.
const mmServiceName = "milvus.proto.milvus.MilvusService"

// mmAnswer answers one call of method (the short name, "Search") with req
// decoded into its real milvus-proto type. resp is a new message of the
// method's real response type, to fill or to replace.
type mmAnswer func(ctx context.Context, method string, req, resp proto.Message) (proto.Message, error)

// mmUnaryMethod is one unary method of the service, from its descriptor.
type mmUnaryMethod struct {
	name    string
	in, out protoreflect.MessageType
}

// mmUnaryMethods lists the unary methods of MilvusService from the
// descriptor that milvus-proto registers, in the descriptor's order.
func mmUnaryMethods(t *testing.T) []mmUnaryMethod {
	t.Helper()
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(mmServiceName)
	require.NoError(t, err)
	sd, ok := d.(protoreflect.ServiceDescriptor)
	require.True(t, ok, "%s is no service", mmServiceName)
	var out []mmUnaryMethod
	for i := range sd.Methods().Len() {
		md := sd.Methods().Get(i)
		if md.IsStreamingClient() || md.IsStreamingServer() {
			continue
		}
		in, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
		require.NoError(t, err)
		resp, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
		require.NoError(t, err)
		out = append(out, mmUnaryMethod{name: string(md.Name()), in: in, out: resp})
	}
	return out
}

// mmServiceDesc is milvuspb's own ServiceDesc for MilvusService with each
// unary method's handler replaced by one that decodes the method's real
// request type and answers through answer, behind the server's
// interceptors, as the generated handlers do. The streaming methods are
// left out.
func mmServiceDesc(t *testing.T, answer mmAnswer) *grpc.ServiceDesc {
	t.Helper()
	byName := map[string]mmUnaryMethod{}
	for _, m := range mmUnaryMethods(t) {
		byName[m.name] = m
	}
	desc := milvuspb.MilvusService_ServiceDesc // a copy; Methods is replaced below
	desc.HandlerType = (*any)(nil)
	desc.Streams = nil
	desc.Methods = nil
	for _, md := range milvuspb.MilvusService_ServiceDesc.Methods {
		m, ok := byName[md.MethodName]
		require.True(t, ok, "milvuspb's ServiceDesc has %s, its descriptor has no such unary method", md.MethodName)
		full := "/" + mmServiceName + "/" + m.name
		desc.Methods = append(desc.Methods, grpc.MethodDesc{
			MethodName: m.name,
			Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				in := m.in.New().Interface()
				if err := dec(in); err != nil {
					return nil, err
				}
				handler := func(ctx context.Context, req any) (any, error) {
					msg, ok := req.(proto.Message)
					if !ok {
						return nil, fmt.Errorf("%s: request %T is no proto.Message", full, req)
					}
					return answer(ctx, m.name, msg, m.out.New().Interface())
				}
				if ic == nil {
					return handler(ctx, in)
				}
				return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, handler)
			},
		})
	}
	require.Len(t, desc.Methods, len(byName), "milvuspb's ServiceDesc and its descriptor list different unary methods")
	return &desc
}

// mmServe serves srv, with desc registered unless it is nil, over an
// in-memory listener until the test ends and returns a client connection
// to it.
func mmServe(t *testing.T, srv *grpc.Server, desc *grpc.ServiceDesc, install ...*interceptor.ServerInstall) *grpc.ClientConn {
	t.Helper()
	if desc != nil {
		srv.RegisterService(desc, struct{}{})
	}
	for _, in := range install { // after registering the services, before serving
		if err := in.Init(srv); err != nil {
			t.Fatal(err)
		}
	}
	lis := bufconn.Listen(1 << 20)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Errorf("closing client: %v", err)
		}
		srv.Stop()
		if err := <-done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("serve: %v", err)
		}
	})
	return conn
}

// mmSetStatus sets the Milvus status of resp, a response of a MilvusService
// method: resp itself if it is a commonpb.Status, else its status field.
// It reports whether resp has a status at all.
func mmSetStatus(resp proto.Message, errorCode, code int32) bool {
	m := resp.ProtoReflect()
	status := m
	if m.Descriptor().FullName() != "milvus.proto.common.Status" {
		f := m.Descriptor().Fields().ByName("status")
		if f == nil || f.Message() == nil || f.Message().FullName() != "milvus.proto.common.Status" {
			return false
		}
		status = m.Mutable(f).Message()
	}
	fields := status.Descriptor().Fields()
	status.Set(fields.ByName("error_code"), protoreflect.ValueOfEnum(protoreflect.EnumNumber(errorCode)))
	status.Set(fields.ByName("code"), protoreflect.ValueOfInt32(code))
	return true
}
