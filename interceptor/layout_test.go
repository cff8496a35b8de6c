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

// Messages as the old APIv1 generators (protoc-gen-go before 1.4, which
// Milvus used) wrote them: tagged structs with Reset, String and
// ProtoMessage, and no ProtoReflect. protobuf-go derives their descriptors
// from the tags. The names matter: the default rule looks for a message
// named Status.
type (
	ErrorCode int32

	Status struct {
		ErrorCode ErrorCode `protobuf:"varint,1,opt,name=error_code,json=errorCode,proto3,enum=common.ErrorCode"`
		Reason    string    `protobuf:"bytes,2,opt,name=reason,proto3"`
		Code      int32     `protobuf:"varint,3,opt,name=code,proto3"`
	}

	MsgBase struct {
		MsgType  int32 `protobuf:"varint,1,opt,name=msg_type,json=msgType,proto3"`
		SourceID int64 `protobuf:"varint,4,opt,name=sourceID,proto3"`
	}

	v1Response struct {
		Status *Status `protobuf:"bytes,1,opt,name=status,proto3"`
		Name   string  `protobuf:"bytes,2,opt,name=name,proto3"`
	}

	v1Request struct {
		Base *MsgBase `protobuf:"bytes,1,opt,name=base,proto3"`
		Name string   `protobuf:"bytes,2,opt,name=name,proto3"`
	}
)

func (e ErrorCode) String() string { return "ErrorCode" }

func (*Status) Reset()             {}
func (*Status) String() string     { return "Status" }
func (*Status) ProtoMessage()      {}
func (*MsgBase) Reset()            {}
func (*MsgBase) String() string    { return "MsgBase" }
func (*MsgBase) ProtoMessage()     {}
func (*v1Response) Reset()         {}
func (*v1Response) String() string { return "v1Response" }
func (*v1Response) ProtoMessage()  {}
func (*v1Request) Reset()          {}
func (*v1Request) String() string  { return "v1Request" }
func (*v1Request) ProtoMessage()   {}

func TestLegacyAPIv1Messages(t *testing.T) {
	statuses := []struct {
		name              string
		resp              any
		wantFail, wantHas bool
	}{
		{"status ok", &v1Response{Status: &Status{}}, false, true},
		{"error_code", &v1Response{Status: &Status{ErrorCode: 3}}, true, true},
		{"code", &v1Response{Status: &Status{Code: 5}}, true, true},
		{"unset status", &v1Response{}, false, true},
		{"typed nil", (*v1Response)(nil), false, false},
		{"bare status fail", &Status{Code: 1}, true, true},
		{"bare status ok", &Status{}, false, true},
	}
	for _, tt := range statuses {
		t.Run(tt.name, func(t *testing.T) {
			var d reflectStatus
			for range 2 { // the second call takes the cached layout
				if fail, found := d.detect(tt.resp); fail != tt.wantFail || found != tt.wantHas {
					t.Fatalf("detect = (%v, %v), want (%v, %v)", fail, found, tt.wantFail, tt.wantHas)
				}
			}
			if sh := d.cache.Load(); tt.resp != (*v1Response)(nil) && (sh == nil || sh.layout == nil) {
				t.Fatal("no layout for an APIv1 message")
			}
			if n := testing.AllocsPerRun(100, func() { d.detect(tt.resp) }); n != 0 {
				t.Fatalf("detect allocates %v times", n)
			}
		})
	}
	bases := []struct {
		name   string
		req    any
		wantID int64
		wantOK bool
	}{
		{"base", &v1Request{Base: &MsgBase{SourceID: 9}}, 9, true},
		{"no base", &v1Request{}, 0, false},
		{"typed nil", (*v1Request)(nil), 0, false},
	}
	for _, tt := range bases {
		t.Run(tt.name, func(t *testing.T) {
			var d reflectBase
			for range 2 {
				if id, ok := d.sourceID(tt.req); id != tt.wantID || ok != tt.wantOK {
					t.Fatalf("sourceID = (%d, %v), want (%d, %v)", id, ok, tt.wantID, tt.wantOK)
				}
			}
			if n := testing.AllocsPerRun(100, func() { d.sourceID(tt.req) }); n != 0 {
				t.Fatalf("sourceID allocates %v times", n)
			}
		})
	}
}

// corruptDescriptor is an APIv1-shaped message whose Descriptor method, which
// generated APIv1 code has, returns bytes that are no gzipped descriptor:
// protobuf-go panics when it loads the type.
type corruptDescriptor struct {
	X int32 `protobuf:"varint,1,opt,name=x,proto3"`
}

func (*corruptDescriptor) Reset()                      {}
func (*corruptDescriptor) String() string              { return "corruptDescriptor" }
func (*corruptDescriptor) ProtoMessage()               {}
func (*corruptDescriptor) Descriptor() ([]byte, []int) { return []byte("not gzip"), []int{0} }

func TestUnloadableLegacyMessageIsNoMessage(t *testing.T) {
	var d reflectStatus
	if fail, found := d.detect(&corruptDescriptor{X: 1}); fail || found {
		t.Fatalf("detect = (%v, %v), want (false, false)", fail, found)
	}
	var b reflectBase
	if id, ok := b.sourceID(&corruptDescriptor{X: 1}); id != 0 || ok {
		t.Fatalf("sourceID = (%d, %v), want (0, false)", id, ok)
	}
}
