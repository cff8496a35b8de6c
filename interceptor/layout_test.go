package interceptor

import (
	"reflect"
	"testing"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
)

// dynamicCopy returns m as a dynamicpb message, which has no Go struct, so
// the default rules read it through protoreflect alone.
func dynamicCopy(t testing.TB, m proto.Message) proto.Message {
	t.Helper()
	d := dynamicpb.NewMessage(m.ProtoReflect().Descriptor())
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(b, d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLayoutsAreBuiltForGeneratedTypesOnly(t *testing.T) {
	tests := []struct {
		name       string
		msg        proto.Message
		wantLayout bool
		wantNone   bool
	}{
		{"response with status", &milvuspb.DescribeCollectionResponse{}, true, false},
		{"bare status", &commonpb.Status{}, true, false},
		{"google.rpc.Status", &spb.Status{}, true, false},
		{"no status", &milvuspb.DummyResponse{}, true, true},
		{"wrapper", wrapperspb.String("x"), true, true},
		{"dynamicpb", dynamicpb.NewMessage((&milvuspb.DescribeCollectionResponse{}).ProtoReflect().Descriptor()), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d reflectStatus
			d.detect(tt.msg)
			sh := d.cache.Load()
			if sh == nil {
				t.Fatal("no shape cached")
			}
			if got := sh.layout != nil; got != tt.wantLayout {
				t.Fatalf("layout built = %v, want %v", got, tt.wantLayout)
			}
			if tt.wantLayout && sh.layout.none != tt.wantNone {
				t.Fatalf("layout.none = %v, want %v", sh.layout.none, tt.wantNone)
			}
		})
	}
	var b reflectBase
	b.sourceID(&milvuspb.DescribeCollectionRequest{})
	if l := b.cache.Load().layout; l == nil || l.none || l.source.kind != reflect.Int64 {
		t.Fatalf("request layout = %+v, want the base field and an int64 SourceID", l)
	}
}

// FuzzLayoutAgreesWithProtoreflect decodes fuzz bytes into generated
// messages and checks that reading them through the layouts gives what
// protoreflect gives for the same message as a dynamicpb copy.
func FuzzLayoutAgreesWithProtoreflect(f *testing.F) {
	for _, m := range []proto.Message{
		&milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{ErrorCode: 4, Code: 9}},
		&commonpb.Status{Code: -1},
		&spb.Status{Code: 5, Message: "x"},
		&milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: -7}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	var fast [3]reflectStatus
	var slow [3]reflectStatus
	var fastBase, slowBase reflectBase
	f.Fuzz(func(t *testing.T, b []byte) {
		for i, m := range []proto.Message{&milvuspb.DescribeCollectionResponse{}, &commonpb.Status{}, &spb.Status{}} {
			if proto.Unmarshal(b, m) != nil {
				continue
			}
			// Twice on the fast side: the first call builds the layout.
			fast[i].detect(m)
			gotFail, gotFound := fast[i].detect(m)
			wantFail, wantFound := slow[i].detect(dynamicCopy(t, m))
			if gotFail != wantFail || gotFound != wantFound {
				t.Fatalf("%T %v: layout says (%v, %v), protoreflect (%v, %v)", m, m, gotFail, gotFound, wantFail, wantFound)
			}
		}
		req := &milvuspb.DescribeCollectionRequest{}
		if proto.Unmarshal(b, req) != nil {
			return
		}
		fastBase.sourceID(req)
		gotID, gotOK := fastBase.sourceID(req)
		wantID, wantOK := slowBase.sourceID(dynamicCopy(t, req))
		if gotID != wantID || gotOK != wantOK {
			t.Fatalf("%v: layout says (%d, %v), protoreflect (%d, %v)", req, gotID, gotOK, wantID, wantOK)
		}
	})
}
