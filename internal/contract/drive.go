package contract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	grpcstats "google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// Drive runs every set with every option that adds a family or a label,
// across every outcome that gives a label value of its own (each gRPC
// code, each kind of call, each Milvus status and cause), and returns what
// each set wrote, by set name.
func Drive() (map[string][]*dto.MetricFamily, error) {
	out := map[string][]*dto.MetricFamily{}
	var errs []error
	add := func(name string, mfs []*dto.MetricFamily, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		out[name] = mfs
	}
	mfs, err := driveMilvus()
	add("milvus", mfs, err)
	server, client, a66, err := driveProviderAndA66()
	add("provider-server", server, err)
	out["provider-client"], out["a66"] = client, a66
	for _, line := range []interceptor.Milvus26Line{interceptor.MilvusV2616, interceptor.MilvusV2620, interceptor.MilvusV2621} {
		mfs, err := driveMilvus26(interceptor.WithLine(line), interceptor.WithGRPCLatency(), interceptor.WithCollectionLimit(1))
		add("milvus26/"+line.String(), mfs, err)
	}
	mfs, err = driveMilvus26(interceptor.WithRootCoordDDL())
	add("milvus26-rootcoord", mfs, err)
	return out, errors.Join(errs...)
}

// Generate returns the contract: the families that Drive gathers, with
// the declared domains, options and optional labels of each set.
func Generate() (Contract, error) {
	driven, err := Drive()
	if err != nil {
		return Contract{}, err
	}
	var c Contract
	for _, d := range declarations() {
		set := Set{Name: d.name, Title: d.title}
		for _, mf := range driven[d.name] {
			typ := typeName(mf.GetType())
			if d.skip != nil && d.skip(mf.GetName(), typ) {
				continue
			}
			labels, err := baseLabels(mf, d.optional[mf.GetName()])
			if err != nil {
				return Contract{}, fmt.Errorf("contract: %s: %w", d.name, err)
			}
			set.Families = append(set.Families, Family{
				Name:           mf.GetName(),
				Type:           typ,
				Help:           mf.GetHelp(),
				Option:         d.options[mf.GetName()],
				Labels:         labels,
				OptionalLabels: d.optional[mf.GetName()],
				Domains:        d.domainsOf(mf.GetName(), labels),
			})
		}
		slices.SortFunc(set.Families, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
		c.Sets = append(c.Sets, set)
	}
	return c, nil
}

// Gathered returns what Drive gathers for set name, less the families the
// set does not write (see declared.skip).
func Gathered(driven map[string][]*dto.MetricFamily, name string) []*dto.MetricFamily {
	i := slices.IndexFunc(declarations(), func(d struct {
		name string
		declared
	}) bool {
		return d.name == name
	})
	if i < 0 {
		return nil
	}
	d := declarations()[i]
	return slices.DeleteFunc(slices.Clone(driven[name]), func(mf *dto.MetricFamily) bool {
		return d.skip != nil && d.skip(mf.GetName(), typeName(mf.GetType()))
	})
}

// baseLabels returns the label names of mf's series, less optional ones,
// and an error if its series disagree.
func baseLabels(mf *dto.MetricFamily, optional map[string]string) ([]string, error) {
	var labels []string
	for i, m := range mf.GetMetric() {
		var names []string
		for _, lp := range m.GetLabel() {
			if _, ok := optional[lp.GetName()]; !ok {
				names = append(names, lp.GetName())
			}
		}
		if i > 0 && !slices.Equal(names, labels) {
			return nil, fmt.Errorf("%s: series with labels %q and %q", mf.GetName(), labels, names)
		}
		labels = names
	}
	if labels == nil {
		labels = []string{}
	}
	return labels, nil
}

// each gRPC code from OK to Unauthenticated.
func eachCode(f func(codes.Code)) {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		f(c)
	}
}

// driveMilvus drives Milvus v2.0's counters over the default table: each
// method succeeds, fails by its status and by an error; one method ends
// with every code, and as each kind of stream.
func driveMilvus() ([]*dto.MetricFamily, error) {
	reg := prometheus.NewPedanticRegistry()
	m := registry.New()
	if err := m.Register(reg); err != nil {
		return nil, err
	}
	methods, err := methodmap.Default(m)
	if err != nil {
		return nil, err
	}
	ic, err := interceptor.NewMilvusCounters(methods)
	if err != nil {
		return nil, err
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus: ic}, driveHistogram())
	if err != nil {
		return nil, err
	}
	if err := install.Register(reg); err != nil {
		return nil, err
	}
	ctx := context.Background()
	unary := install.UnaryServerInterceptor()
	answers := []grpc.UnaryHandler{
		func(context.Context, any) (any, error) { return &commonpb.Status{}, nil },
		func(context.Context, any) (any, error) {
			return &commonpb.Status{ErrorCode: commonpb.ErrorCode_UnexpectedError}, nil
		},
		func(context.Context, any) (any, error) { return nil, status.Error(codes.Internal, "driven") },
	}
	entries := methods.Entries()
	for _, e := range entries {
		for _, h := range answers {
			if _, err := unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: e.Method}, h); err != nil && status.Code(err) != codes.Internal {
				return nil, err
			}
		}
	}
	first := entries[0].Method
	eachCode(func(c codes.Code) {
		_, _ = unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: first}, func(context.Context, any) (any, error) { //nolint:errcheck // the code is the point
			return nil, status.Error(c, "driven")
		})
	})
	stream := install.StreamServerInterceptor()
	for _, kind := range [][2]bool{{true, false}, {false, true}, {true, true}} {
		info := &grpc.StreamServerInfo{FullMethod: first, IsClientStream: kind[0], IsServerStream: kind[1]}
		if err := stream(nil, driveStream{ctx}, info, func(any, grpc.ServerStream) error { return nil }); err != nil {
			return nil, err
		}
	}
	return reg.Gather()
}

// driveHistogram is the latency histogram of the drive's installs, with
// the grpc_code label.
func driveHistogram() interceptor.InstallOption {
	return interceptor.WithHistogram(interceptor.Histogram{CodeLabel: true})
}

// driveStream is a server stream with a context alone, for a stream
// interceptor called directly.
type driveStream struct{ ctx context.Context }

func (s driveStream) SetHeader(metadata.MD) error  { return nil }
func (s driveStream) SendHeader(metadata.MD) error { return nil }
func (s driveStream) SetTrailer(metadata.MD)       {}
func (s driveStream) Context() context.Context     { return s.ctx }
func (s driveStream) SendMsg(any) error            { return nil }
func (s driveStream) RecvMsg(any) error            { return io.EOF }

// driveMilvus26 drives a Milvus26 built with opts: every outcome of its
// release line, an abandoned request, a second collection (over the limit
// with WithCollectionLimit(1), which rootcoord refuses), and every code for
// the histogram.
func driveMilvus26(opts ...interceptor.Milvus26Option) ([]*dto.MetricFamily, error) {
	reg := prometheus.NewPedanticRegistry()
	m, err := interceptor.NewMilvus26(append(opts, interceptor.WithReqLatency())...)
	if err != nil {
		return nil, err
	}
	install, err := interceptor.NewServerInstall(interceptor.ServerSets{Milvus26: m}, driveHistogram())
	if err != nil {
		return nil, err
	}
	if err := install.Register(reg); err != nil {
		return nil, err
	}
	ctx := context.Background()
	unary := install.UnaryServerInterceptor()
	const search = "/milvus.proto.milvus.MilvusService/Search"
	info := &grpc.UnaryServerInfo{FullMethod: search}
	reply := func(st *commonpb.Status) grpc.UnaryHandler {
		return func(context.Context, any) (any, error) { return &milvuspb.SearchResults{Status: st}, nil }
	}
	fail := func(err error) grpc.UnaryHandler {
		return func(context.Context, any) (any, error) { return nil, err }
	}
	input, err := inputStatus(1100)
	if err != nil {
		return nil, err
	}
	handlers := []grpc.UnaryHandler{
		reply(&commonpb.Status{}), reply(&commonpb.Status{Code: 5}), reply(&commonpb.Status{Code: 8}),
		reply(&commonpb.Status{Code: 10000}), fail(context.Canceled),
		func(context.Context, any) (any, error) { return input, nil }, // ("fail", "user")
	}
	eachCode(func(c codes.Code) { handlers = append(handlers, fail(status.Error(c, "driven"))) })
	for _, coll := range []string{"c1", "c2"} { // c2 is over the limit of 1
		req := &milvuspb.SearchRequest{DbName: "db", CollectionName: coll}
		for _, h := range handlers {
			_, _ = unary(ctx, req, info, h) //nolint:errcheck // the outcome is the point
		}
		m.Abandon(ctx, search, req)
	}
	return reg.Gather()
}

// driveService is the TestService of the drive: UnaryCall ends with the
// code in the request's response size when it asks to fill the username,
// and answers with a failing response (username "fail", see driveFails)
// when it asks to fill the OAuth scope; the stream methods end OK.
type driveService struct {
	testpb.UnimplementedTestServiceServer
}

func (driveService) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if c := codes.Code(req.GetResponseSize()); req.GetFillUsername() && c != codes.OK {
		return nil, status.Error(c, "driven")
	}
	if req.GetFillOauthScope() {
		return &testpb.SimpleResponse{Username: "fail"}, nil
	}
	return &testpb.SimpleResponse{}, nil
}

func (driveService) StreamingOutputCall(_ *testpb.StreamingOutputCallRequest, ss grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	return ss.Send(&testpb.StreamingOutputCallResponse{})
}

func (driveService) StreamingInputCall(ss grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	for {
		if _, err := ss.Recv(); errors.Is(err, io.EOF) {
			return ss.SendAndClose(&testpb.StreamingInputCallResponse{})
		} else if err != nil {
			return err
		}
	}
}

func (driveService) FullDuplexCall(ss grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		req, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// driveFails is the status rule of the drive's provider families: a
// response whose username is "fail" carries a failing status.
func driveFails(resp any) bool {
	r, ok := resp.(*testpb.SimpleResponse)
	return ok && r.GetUsername() == "fail"
}

// driveProviderAndA66 serves driveService over bufconn with the provider's
// server families and A66's server handler, dials it with the provider's
// client families and A66's dial options, and calls each method: UnaryCall
// with every code and with a failing response, and each stream once.
func driveProviderAndA66() (server, client, a66 []*dto.MetricFamily, err error) {
	serverReg, clientReg, a66Reg := prometheus.NewPedanticRegistry(), prometheus.NewPedanticRegistry(), prometheus.NewPedanticRegistry()
	sm, err := interceptor.NewServerMetrics(interceptor.WithInFlight())
	if err != nil {
		return nil, nil, nil, err
	}
	cm, err := interceptor.NewClientMetrics(interceptor.WithInFlight())
	if err != nil {
		return nil, nil, nil, err
	}
	a, err := interceptor.NewA66(interceptor.WithGRPCMetrics(interceptor.GRPCMetrics{
		// grpc-go's subchannel metrics, which a connection over bufconn
		// records when it connects and when it closes.
		Metrics: grpcstats.NewMetricSet("grpc.subchannel.connection_attempts_succeeded", "grpc.subchannel.connection_attempts_failed",
			"grpc.subchannel.disconnections", "grpc.subchannel.open_connections"),
	}))
	if err != nil {
		return nil, nil, nil, err
	}
	// Each set in an install of its own, on a registry of its own, so that
	// each gathers its set's families (and its install's histogram) alone;
	// the provider's and A66's installs share the server and the client.
	status := interceptor.WithStatus(driveFails)
	smInstall, err := interceptor.NewServerInstall(interceptor.ServerSets{Provider: sm}, driveHistogram(), status)
	if err != nil {
		return nil, nil, nil, err
	}
	cmInstall, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm}, driveHistogram(), status)
	if err != nil {
		return nil, nil, nil, err
	}
	a66Server, err := interceptor.NewServerInstall(interceptor.ServerSets{A66: a})
	if err != nil {
		return nil, nil, nil, err
	}
	a66Client, err := interceptor.NewClientInstall(interceptor.ClientSets{A66: a})
	if err != nil {
		return nil, nil, nil, err
	}
	if err := errors.Join(smInstall.Register(serverReg), cmInstall.Register(clientReg),
		a66Server.Register(a66Reg), a66Client.Register(a66Reg)); err != nil {
		return nil, nil, nil, err
	}
	// A call before Init, which the provider counts apart.
	_, _ = smInstall.UnaryServerInterceptor()(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/grpc.testing.TestService/EmptyCall"}, //nolint:errcheck // counted
		func(context.Context, any) (any, error) { return &testpb.Empty{}, nil })

	gs := grpc.NewServer(append(smInstall.ServerOptions(), a66Server.ServerOptions()...)...)
	testpb.RegisterTestServiceServer(gs, driveService{})
	if err := errors.Join(smInstall.Init(gs), a66Server.Init(gs)); err != nil {
		return nil, nil, nil, err
	}
	lis := bufconn.Listen(1 << 20)
	served := make(chan error, 1)
	go func() { served <- gs.Serve(lis) }()
	dial := append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, append(cmInstall.DialOptions(), a66Client.DialOptions()...)...)
	cc, err := grpc.NewClient("passthrough:///bufnet", dial...)
	if err != nil {
		gs.Stop()
		return nil, nil, nil, err
	}
	callErr := driveCalls(testpb.NewTestServiceClient(cc))
	closeErr := cc.Close()
	gs.GracefulStop() // every call has ended, and been counted, on both sides
	if err := <-served; err != nil {
		return nil, nil, nil, err
	}
	if err := errors.Join(callErr, closeErr); err != nil {
		return nil, nil, nil, err
	}
	if server, err = serverReg.Gather(); err != nil {
		return nil, nil, nil, err
	}
	if client, err = clientReg.Gather(); err != nil {
		return nil, nil, nil, err
	}
	a66, err = a66Reg.Gather()
	return server, client, a66, err
}

// driveCalls makes the drive's calls on c.
func driveCalls(c testpb.TestServiceClient) error {
	ctx := context.Background()
	var errs []error
	eachCode(func(code codes.Code) {
		_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: int32(code), FillUsername: true})
		if status.Code(err) != code {
			errs = append(errs, fmt.Errorf("UnaryCall asked for %v: %w", code, err))
		}
	})
	if _, err := c.UnaryCall(ctx, &testpb.SimpleRequest{FillOauthScope: true}); err != nil {
		errs = append(errs, err)
	}
	out, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{})
	if err == nil {
		err = drain(out.Recv)
	}
	errs = append(errs, err)
	in, err := c.StreamingInputCall(ctx)
	if err == nil {
		if err = in.Send(&testpb.StreamingInputCallRequest{}); err == nil {
			_, err = in.CloseAndRecv()
		}
	}
	errs = append(errs, err)
	bidi, err := c.FullDuplexCall(ctx)
	if err == nil {
		if err = bidi.Send(&testpb.StreamingOutputCallRequest{}); err == nil {
			if err = bidi.CloseSend(); err == nil {
				err = drain(bidi.Recv)
			}
		}
	}
	errs = append(errs, err)
	return errors.Join(errs...)
}

// drain receives until the stream ends, and returns nil if it ends OK.
func drain[T any](recv func() (T, error)) error {
	for {
		if _, err := recv(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}
