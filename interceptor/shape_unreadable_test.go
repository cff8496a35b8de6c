package interceptor_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// clNilReflect is a message type whose ProtoReflect returns nil.
type clNilReflect struct{ Status *commonpb.Status }

func (*clNilReflect) ProtoReflect() protoreflect.Message { return nil }

// clPanicReflect is a message type whose ProtoReflect panics.
type clPanicReflect struct{ Base *commonpb.MsgBase }

func (*clPanicReflect) ProtoReflect() protoreflect.Message { panic("cl: no reflection here") }

// TestUnreadableValuesHaveNoStatus hands the default rules values they
// cannot read: a nil *dynamicpb.Message (whose IsValid dereferences it),
// and types whose ProtoReflect returns nil or panics. Such values have no
// status and no SourceID, as New documents: the call succeeds, under the
// unknown client, and nothing is logged. Readable dynamicpb messages are
// still read.
//
// The calls go straight to the interceptor, as grpc-go would make them:
// gRPC cannot carry these values (a request arrives decoded into a new
// message, and a nil or unreflectable response fails to encode after the
// interceptor has counted it).
func TestUnreadableValuesHaveNoStatus(t *testing.T) {
	failing := dynamicpb.NewMessage((&commonpb.Status{}).ProtoReflect().Descriptor())
	failing.Set(failing.Descriptor().Fields().ByName("error_code"), protoreflect.ValueOfEnum(1))
	based := dynamicpb.NewMessage((&milvuspb.CreateCollectionRequest{}).ProtoReflect().Descriptor())
	baseFD := based.Descriptor().Fields().ByName("base")
	base := based.NewField(baseFD).Message()
	base.Set(base.Descriptor().Fields().ByName("sourceID"), protoreflect.ValueOfInt64(5))
	based.Set(baseFD, protoreflect.ValueOfMessage(base))

	tests := []struct {
		name   string
		value  any
		fail   bool   // as a response
		client string // as a request
	}{
		{"nil dynamicpb", (*dynamicpb.Message)(nil), false, registry.UnknownClientLabel},
		{"zero dynamicpb", &dynamicpb.Message{}, false, registry.UnknownClientLabel},
		{"ProtoReflect returns nil", &clNilReflect{Status: &commonpb.Status{ErrorCode: 1}}, false, registry.UnknownClientLabel},
		{"nil of a ProtoReflect that returns nil", (*clNilReflect)(nil), false, registry.UnknownClientLabel},
		{"ProtoReflect panics", &clPanicReflect{Base: &commonpb.MsgBase{SourceID: 3}}, false, registry.UnknownClientLabel},
		{"nil of a ProtoReflect that panics", (*clPanicReflect)(nil), false, registry.UnknownClientLabel},
		{"readable dynamicpb status", failing, true, registry.UnknownClientLabel},
		{"readable dynamicpb request", based, false, registry.ClientLabel(5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, ic, logs := newLogged(t)
			icpt := ic.UnaryServerInterceptor()
			for range 2 { // a new shape, then a known one
				resp, err := icpt(context.Background(), &milvuspb.CreateCollectionRequest{}, &grpc.UnaryServerInfo{FullMethod: proxyMethod}, returns(tt.value, nil))
				require.NoError(t, err)
				assert.Equal(t, tt.value, resp)
				_, err = icpt(context.Background(), tt.value, &grpc.UnaryServerInfo{FullMethod: rcMethod}, returns(&commonpb.Status{}, nil))
				require.NoError(t, err)
			}

			total, success, fail := outcomeSums(t, m, proxyMethod)
			assert.Equal(t, 2.0, total)
			if tt.fail {
				assert.Equal(t, 2.0, fail, "the response as a status")
			} else {
				assert.Equal(t, 2.0, success, "the response as a status")
			}
			vec := m.RootCoord.CreateCollectionCounter
			assert.Equal(t, 2.0, value(vec, tt.client, registry.SuccessLabel), "the request's client")
			assert.Equal(t, 2.0, sum(t, vec, registry.TotalLabel))
			for _, e := range logs.All() {
				assert.Fail(t, "logged", "%s %v", e.Message, e.ContextMap())
			}
		})
	}
}
