package interceptor_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// captured records what a Registrar passes on.
type captured struct {
	desc *grpc.ServiceDesc
	impl any
}

func (c *captured) RegisterService(desc *grpc.ServiceDesc, impl any) { c.desc, c.impl = desc, impl }

var sharedBase = &msgBase{SourceID: 7}

// generatedHandler is shaped like protoc-gen-go-grpc's method handlers: it
// decodes into its own request, then calls the implementation directly or
// through the server's interceptor chain. The implementation is resp, err,
// or a panic if panicWith is not nil.
func generatedHandler(method string, resp any, err error, panicWith any) grpc.MethodHandler {
	in := new(request) // reused, so that the handler itself does not allocate
	impl := func(context.Context, any) (any, error) {
		if panicWith != nil {
			panic(panicWith)
		}
		return resp, err
	}
	return func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		if err := dec(in); err != nil {
			return nil, err
		}
		if ic == nil {
			return impl(ctx, in)
		}
		return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: method}, impl)
	}
}

func decodeWithBase(v any) error {
	v.(*request).Base = sharedBase
	return nil
}

func registerOne(t *testing.T, f *fixture, service, method string, h grpc.MethodHandler) grpc.MethodHandler {
	t.Helper()
	var c captured
	desc := &grpc.ServiceDesc{
		ServiceName: service,
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: method, Handler: h}},
	}
	f.ic.Registrar(&c).RegisterService(desc, "impl")
	require.NotNil(t, c.desc)
	require.Equal(t, "impl", c.impl)
	return c.desc.Methods[0].Handler
}

func TestRegistrarOutcomes(t *testing.T) {
	errBoom := errors.New("boom")
	reject := func(context.Context, any, *grpc.UnaryServerInfo, grpc.UnaryHandler) (any, error) {
		return nil, errBoom
	}
	tests := []struct {
		name        string
		resp        any
		err         error
		ic          grpc.UnaryServerInterceptor
		wantSuccess float64
		wantFail    float64
	}{
		{"success", &response{Status: &status{}}, nil, nil, 1, 0},
		{"failing status", &response{Status: &status{ErrorCode: 3}}, nil, nil, 0, 1},
		{"error", nil, errBoom, nil, 0, 1},
		{"through a pass-through interceptor", &response{Status: &status{}}, nil,
			func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				return h(ctx, req)
			}, 1, 0},
		{"rejected by an interceptor", &response{Status: &status{}}, nil, reject, 0, 1},
	}
	for mode := range typedModes {
		for _, tt := range tests {
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				f := newModeFixture(t, mode)
				h := registerOne(t, f, "milvus.proto.rootcoord.RootCoord", "CreateCollection",
					generatedHandler(rcMethod, tt.resp, tt.err, nil))
				resp, err := h("impl", context.Background(), decodeWithBase, tt.ic)
				if tt.ic == nil {
					assert.Equal(t, tt.resp, resp)
					assert.Equal(t, tt.err, err)
				}
				vec := f.metrics.RootCoord.CreateCollectionCounter
				assert.Equal(t, 1.0, value(vec, "client_7", registry.TotalLabel))
				assert.Equal(t, tt.wantSuccess, value(vec, "client_7", registry.SuccessLabel))
				assert.Equal(t, tt.wantFail, value(vec, "client_7", registry.FailLabel))
			})
		}
	}
}

func TestRegistrarPanicIsCountedAndPassedOn(t *testing.T) {
	f := newModeFixture(t, "func")
	h := registerOne(t, f, "milvus.proto.milvus.MilvusService", "CreateCollection",
		generatedHandler(proxyMethod, nil, nil, "handler bug"))
	func() {
		defer func() { assert.Equal(t, "handler bug", recover()) }()
		_, _ = h("impl", context.Background(), decodeWithBase, nil) //nolint:errcheck // it panics
		t.Error("the panic did not reach the caller")
	}()
	vec := f.metrics.Proxy.CreateCollectionCounter
	assert.Equal(t, 1.0, value(vec, registry.TotalLabel))
	assert.Equal(t, 0.0, value(vec, registry.SuccessLabel))
	assert.Equal(t, 1.0, value(vec, registry.FailLabel))

	// The pooled call state is clean afterwards: the next call counts once.
	h2 := registerOne(t, f, "milvus.proto.milvus.MilvusService", "CreateCollection",
		generatedHandler(proxyMethod, &response{Status: &status{}}, nil, nil))
	_, err := h2("impl", context.Background(), decodeWithBase, nil)
	require.NoError(t, err)
	assert.Equal(t, 2.0, value(vec, registry.TotalLabel))
	assert.Equal(t, 1.0, value(vec, registry.SuccessLabel))
}

func TestRegistrarDoesNotCountUndecodableRequests(t *testing.T) {
	f := newModeFixture(t, "func")
	h := registerOne(t, f, "milvus.proto.milvus.MilvusService", "CreateCollection",
		generatedHandler(proxyMethod, &response{Status: &status{}}, nil, nil))
	errDecode := errors.New("bad bytes")
	_, err := h("impl", context.Background(), func(any) error { return errDecode }, nil)
	require.ErrorIs(t, err, errDecode)
	vec := f.metrics.Proxy.CreateCollectionCounter
	for _, l := range []string{registry.TotalLabel, registry.SuccessLabel, registry.FailLabel} {
		assert.Zero(t, value(vec, l), l)
	}
}

func TestRegistrarLeavesTheRestAlone(t *testing.T) {
	f := newModeFixture(t, "func")
	mapped := generatedHandler(rcMethod, nil, nil, nil)
	unmapped := generatedHandler("/milvus.proto.rootcoord.RootCoord/NotInTheMap", nil, nil, nil)
	stream := func(any, grpc.ServerStream) error { return nil }
	desc := &grpc.ServiceDesc{
		ServiceName: "milvus.proto.rootcoord.RootCoord",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			{MethodName: "CreateCollection", Handler: mapped},
			{MethodName: "NotInTheMap", Handler: unmapped},
		},
		Streams:  []grpc.StreamDesc{{StreamName: "Watch", Handler: stream, ServerStreams: true}},
		Metadata: "rootcoord.proto",
	}
	var c captured
	f.ic.Registrar(&c).RegisterService(desc, "impl")

	same := func(a, b any) bool { return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer() }
	require.NotSame(t, desc, c.desc, "the generated descriptor must not be modified in place")
	assert.True(t, same(mapped, desc.Methods[0].Handler), "the original descriptor changed")
	assert.False(t, same(mapped, c.desc.Methods[0].Handler), "the mapped method is not wrapped")
	assert.True(t, same(unmapped, c.desc.Methods[1].Handler), "the unmapped method was wrapped")
	assert.True(t, same(stream, c.desc.Streams[0].Handler), "the stream was wrapped")
	assert.Equal(t, desc.ServiceName, c.desc.ServiceName)
	assert.Equal(t, desc.Metadata, c.desc.Metadata)
	assert.Equal(t, desc.HandlerType, c.desc.HandlerType)

	// A nil descriptor goes to the wrapped registrar, which reports it.
	c = captured{}
	f.ic.Registrar(&c).RegisterService(nil, "impl")
	assert.Nil(t, c.desc)
	assert.Equal(t, "impl", c.impl)
}

func TestRegistrarAllocatesNothing(t *testing.T) {
	for mode := range typedModes {
		f := newModeFixture(t, mode)
		for _, tc := range []struct {
			service, method, full string
		}{
			{"milvus.proto.milvus.MilvusService", "CreateCollection", proxyMethod},
			{"milvus.proto.rootcoord.RootCoord", "CreateCollection", rcMethod},
		} {
			for name, resp := range map[string]any{"success": &response{Status: &status{}}, "fail": &response{Status: &status{ErrorCode: 1}}} {
				t.Run(mode+"/"+tc.full+"/"+name, func(t *testing.T) {
					h := registerOne(t, f, tc.service, tc.method, generatedHandler(tc.full, resp, nil, nil))
					ctx := context.Background()
					_, _ = h("impl", ctx, decodeWithBase, nil) //nolint:errcheck // warm the caches
					assert.Zero(t, testing.AllocsPerRun(200, func() {
						_, _ = h("impl", ctx, decodeWithBase, nil) //nolint:errcheck // measured, not checked
					}))
				})
			}
		}
	}
}
