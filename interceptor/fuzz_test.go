package interceptor_test

import (
	"context"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// FuzzOutcome sends arbitrary requests and responses (decoded from fuzz
// bytes into Milvus-shaped messages, or nil, typed nil, foreign types)
// through the default rules and the typed helpers: the interceptor must
// never panic, must count exactly one outcome per call, and both rules must
// judge every call alike.
func FuzzOutcome(f *testing.F) {
	st, _ := proto.Marshal(&commonpb.Status{ErrorCode: 1, Code: 3})                                           //nolint:errcheck // seed
	resp, _ := proto.Marshal(&milvuspb.DescribeCollectionResponse{Status: &commonpb.Status{Code: 1}})         //nolint:errcheck // seed
	req, _ := proto.Marshal(&milvuspb.DescribeCollectionRequest{Base: &commonpb.MsgBase{SourceID: -1 << 63}}) //nolint:errcheck // seed
	for k := range byte(10) {
		f.Add(k, st, req)
		f.Add(k, resp, req)
		f.Add(k, []byte{0xff, 0x01}, []byte{})
	}
	var (
		ics  []grpc.UnaryServerInterceptor
		vecs []*prometheus.CounterVec
	)
	for _, opts := range [][]interceptor.Option{nil, {
		interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]()),
		interceptor.WithClientID(interceptor.MilvusSourceID[*commonpb.MsgBase]()),
	}} {
		m := suRegistered(f)
		methods, err := methodmap.Default(m)
		require.NoError(f, err)
		ic, err := interceptor.New(methods, append(opts, interceptor.WithClientLimit(64))...)
		require.NoError(f, err)
		ics = append(ics, ic.UnaryServerInterceptor())
		vecs = append(vecs, m.RootCoord.DescribeCollectionCounter)
	}
	info := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.rootcoord.RootCoord/DescribeCollection"}
	f.Fuzz(func(t *testing.T, kind byte, respBytes, reqBytes []byte) {
		var r any
		switch kind % 10 {
		case 0:
			r = nil
		case 1:
			r = (*milvuspb.DescribeCollectionResponse)(nil)
		case 2:
			r = (*commonpb.Status)(nil)
		case 3:
			s := &commonpb.Status{}
			_ = proto.Unmarshal(respBytes, s) //nolint:errcheck // a partial message is a fine input
			r = s
		case 4:
			d := &milvuspb.DescribeCollectionResponse{}
			_ = proto.Unmarshal(respBytes, d) //nolint:errcheck // as above
			r = d
		case 5:
			r = &milvuspb.DummyResponse{}
		case 6:
			r = string(respBytes)
		case 7:
			r = &milvuspb.BoolResponse{}
		case 8: // a status of another shape: google.rpc.Status
			g := &spb.Status{}
			_ = proto.Unmarshal(respBytes, g) //nolint:errcheck // as above
			r = g
		case 9: // a "status" that is not a message
			r = wrapperspb.String(string(respBytes))
		}
		q := &milvuspb.DescribeCollectionRequest{}
		_ = proto.Unmarshal(reqBytes, q) //nolint:errcheck // as above
		var req any = q
		if kind&0x80 != 0 {
			req = (*milvuspb.DescribeCollectionRequest)(nil)
		}
		var failed [2]float64
		for ix, icpt := range ics {
			before := sum(t, vecs[ix], registry.FailLabel)
			_, err := icpt(context.Background(), req, info, returns(r, nil))
			require.NoError(t, err)
			failed[ix] = sum(t, vecs[ix], registry.FailLabel) - before
			total := sum(t, vecs[ix], registry.TotalLabel)
			done := sum(t, vecs[ix], registry.SuccessLabel) + sum(t, vecs[ix], registry.FailLabel)
			require.Equal(t, total, done, "total != success + fail")
		}
		// The default rule reads any message named Status with an integer
		// code, google.rpc.Status too; MilvusStatus reads only Milvus's.
		if kind%10 != 8 {
			require.Equal(t, failed[0], failed[1], "fail by the default rule and by MilvusStatus, for %#v", r)
		}
	})
}

// FuzzClientLabel feeds arbitrary client IDs (invalid UTF-8, huge strings)
// through WithClientID: no panic, and every label is valid UTF-8 of at most
// MaxClientIDLength bytes.
func FuzzClientLabel(f *testing.F) {
	for _, s := range []string{"", "client_1", "\xff\xfe", string(make([]byte, 1000)), "é" + string(make([]byte, 127))} {
		f.Add(s)
	}
	m := suRegistered(f)
	methods, err := methodmap.Default(m)
	require.NoError(f, err)
	ic, err := interceptor.New(methods, interceptor.WithClientLimit(16), interceptor.WithClientID(func(_ context.Context, req any) interceptor.ClientID {
		s, _ := req.(string)
		return interceptor.Label(s)
	}))
	require.NoError(f, err)
	icpt := ic.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/milvus.proto.rootcoord.RootCoord/ShowSegments"}
	f.Fuzz(func(t *testing.T, id string) {
		_, err := icpt(context.Background(), id, info, returns(nil, nil))
		require.NoError(t, err)
		ch := make(chan prometheus.Metric, 256)
		go func() {
			m.RootCoord.ShowSegmentsCounter.Collect(ch)
			close(ch)
		}()
		for metric := range ch {
			pb := new(dto.Metric)
			require.NoError(t, metric.Write(pb))
			for _, lp := range pb.GetLabel() {
				require.True(t, utf8.ValidString(lp.GetValue()), "label value %q is not valid UTF-8", lp.GetValue())
				require.LessOrEqual(t, len(lp.GetValue()), interceptor.MaxClientIDLength, "label value %q is too long", lp.GetValue())
			}
		}
	})
}
