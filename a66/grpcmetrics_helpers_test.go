package a66

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/pickfirst"
	estats "google.golang.org/grpc/experimental/stats"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/stats/opentelemetry"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// The helpers of the tests of grpc-go's metrics that are not per call
// (interceptor.WithGRPCMetrics): the plugin and ours configured alike, a
// probe that tells when a value has been recorded, and a balancer that
// hands the test its channel's metrics recorder.

// arGRPCBoth is the plugin and our A66 with the same grpc-go metrics and
// optional labels, each exporting into a registry of its own.
type arGRPCBoth struct {
	plugin *arPlugin
	pdial  grpc.DialOption
	ours   *interceptor.ClientInstall
	reg    *prometheus.Registry
}

func newArGRPCBoth(t testing.TB, names []string, optional []string) *arGRPCBoth {
	t.Helper()
	p := newArPlugin(t)
	pdial := opentelemetry.DialOption(opentelemetry.Options{MetricsOptions: opentelemetry.MetricsOptions{
		MeterProvider:  p.mp,
		Metrics:        opentelemetry.DefaultMetrics().Add(names...),
		OptionalLabels: optional,
	}})
	a, err := interceptor.NewA66(interceptor.WithGRPCMetrics(interceptor.GRPCMetrics{
		Metrics:        stats.NewMetricSet(names...),
		OptionalLabels: optional,
	}))
	require.NoError(t, err)
	client, err := interceptor.NewClientInstall(interceptor.ClientSets{A66: a})
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, client.Register(reg))
	return &arGRPCBoth{plugin: p, pdial: pdial, ours: client, reg: reg}
}

// dialOptions installs the plugin, then ours, then the probes.
func (b *arGRPCBoth) dialOptions(probes ...*arProbe) []grpc.DialOption {
	opts := append([]grpc.DialOption{b.pdial}, b.ours.DialOptions()...)
	for _, p := range probes {
		opts = append(opts, grpc.WithStatsHandler(p))
	}
	return opts
}

// diff compares the two expositions, ours without its overflow counter
// (which must be 0 in every series); it returns the differences and the
// number of series compared in the families whose names start with
// prefix.
func (b *arGRPCBoth) diff(t *testing.T, prefix string) (diffs []string, compared int) {
	t.Helper()
	theirs, ours := arGather(t, b.plugin.reg), arGather(t, b.reg)
	for key, s := range ours[arOverflowFamily].Series {
		require.Zero(t, s.Value, "%s{%s}", arOverflowFamily, key)
	}
	delete(ours, arOverflowFamily)
	diffs, timing := arDiff(theirs, ours)
	for _, l := range timing {
		t.Logf("timing (clocks read microseconds apart): %s", l)
	}
	all := 0
	for name, f := range theirs {
		all += len(f.Series)
		if strings.HasPrefix(name, prefix) {
			compared += len(f.Series)
		}
	}
	t.Logf("%d series compared, %d of them in the families %s*", all, compared, prefix)
	return diffs, compared
}

// arOverflowFamily is our counter of values written under the overflow
// tuple, which the plugin does not have.
const arOverflowFamily = "grpcmetrics_grpc_metric_overflow_total"

// arSeriesOf returns the series of the families whose names start with
// prefix in e, as family{labels} → value (a histogram's: its count).
func arSeriesOf(e arExposition, prefix string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range e.arCounts() {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// arProbe is a stats handler that does nothing but send, on events, each
// value grpc-go records through it as "name +n". grpc-go hands a value to
// a channel's recorders in the order of their stats handlers: installed
// last, the probe hears of a value once the plugin and ours have recorded
// it.
type arProbe struct {
	arNoop
	estats.UnimplementedMetricsRecorder
	events chan string
}

func newArProbe() *arProbe { return &arProbe{events: make(chan string, 64)} }

func (p *arProbe) RecordInt64Count(h *estats.Int64CountHandle, incr int64, _ ...string) {
	p.events <- fmt.Sprintf("%s %+d", h.Descriptor().Name, incr)
}

func (p *arProbe) RecordInt64UpDownCount(h *estats.Int64UpDownCountHandle, incr int64, _ ...string) {
	p.events <- fmt.Sprintf("%s %+d", h.Descriptor().Name, incr)
}

// next returns the next event.
func (p *arProbe) next(t *testing.T) string {
	t.Helper()
	select {
	case e := <-p.events:
		return e
	case <-t.Context().Done():
		t.Fatal("the test ended waiting for a value grpc-go records")
		return ""
	}
}

// await waits for the events want, in any order, and fails on any other.
func (p *arProbe) await(t *testing.T, want ...string) {
	t.Helper()
	got := make([]string, 0, len(want))
	for range want {
		got = append(got, p.next(t))
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	require.Equal(t, want, got)
}

// until waits for every event of want, counting the others on the way.
func (p *arProbe) until(t *testing.T, want ...string) (others map[string]int) {
	t.Helper()
	others = map[string]int{}
	pending := map[string]bool{}
	for _, w := range want {
		pending[w] = true
	}
	for len(pending) > 0 {
		e := p.next(t)
		if pending[e] {
			delete(pending, e)
			continue
		}
		others[e]++
	}
	return others
}

// arCaptureName is the load balancing policy that hands the test its
// channel's metrics recorder (see arCaptureBuilder).
const arCaptureName = "grpcmetrics_a66_capture"

// arCaptureKey is the resolver attribute under which the test gives the
// policy the channel it sends the recorder on.
type arCaptureKey struct{}

// arCaptureBuilder builds pick_first, wrapped: on its first resolver
// update it sends the channel's metrics recorder, the list of the
// recorders among the channel's stats handlers that grpc-go hands a policy,
// on the channel the resolver state carries.
type arCaptureBuilder struct{}

func (arCaptureBuilder) Name() string { return arCaptureName }

func (arCaptureBuilder) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	return &arCapture{Balancer: balancer.Get(pickfirst.Name).Build(cc, opts), cc: cc}
}

type arCapture struct {
	balancer.Balancer
	cc   balancer.ClientConn
	sent bool
}

func (b *arCapture) UpdateClientConnState(s balancer.ClientConnState) error {
	if ch, ok := s.ResolverState.Attributes.Value(arCaptureKey{}).(chan estats.MetricsRecorder); ok && !b.sent {
		b.sent = true
		ch <- b.cc.MetricsRecorder()
	}
	return b.Balancer.UpdateClientConnState(s)
}

func init() {
	balancer.Register(arCaptureBuilder{}) // as policies register: at init
}

// arCaptureAttrs are the resolver attributes that carry ch to the policy.
func arCaptureAttrs(ch chan estats.MetricsRecorder) *attributes.Attributes {
	return attributes.New(arCaptureKey{}, ch)
}

// arFamilyNames lists the family names of e that start with prefix.
func arFamilyNames(e arExposition, prefix string) []string {
	var names []string
	for _, n := range slices.Sorted(maps.Keys(e)) {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	return names
}
