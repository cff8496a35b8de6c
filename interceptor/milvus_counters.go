package interceptor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grpcmetrics/grpcmetrics/interceptor/internal/msgshape"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// The metric set of Milvus v2.0's counters: the counters of a
// [methodmap.Map], and the client_id values of client-labelled routes.

// MilvusCounters are Milvus v2.0's counters: they count the calls of the
// methods in a [methodmap.Map] into the map's counters. Build them with
// [NewMilvusCounters] and give them to a [ServerInstall]
// ([ServerSets].Milvus), which registers their own metrics
// (grpcmetrics_client_id_overflow_total and grpcmetrics_client_ids; the
// map's counters are the registry's, which [registry.Metrics.Register]
// registers).
//
// A stream of a mapped method counts "total" when it opens and "success"
// or "fail" when the handler returns, by the same rules as a unary call
// with no response: an error (a client that cancels mid-stream usually
// ends it with Canceled, an expired deadline with DeadlineExceeded) or a
// panic is fail. The client rule sees the stream's context and a nil
// request, so without a [WithClientID] that reads the context,
// client-labelled streams count under [registry.UnknownClientLabel].
type MilvusCounters struct {
	routes   map[string]*milvusRoute // by full method name; never written after New
	clientID ClientIDFunc            // nil: the default rule
	shapes   msgshape.Cache          // the default client rule's shapes
	clients  *clientTable

	overflowTotal prometheus.Counter // grpcmetrics_client_id_overflow_total
	tracked       prometheus.GaugeFunc
	metrics       *setCollector // the set's own metrics, as one collector
	member        belonging     // the install it belongs to
}

// milvusRoute is one mapped method, as the Milvus counters count it.
type milvusRoute struct {
	method, service, name string
	fixed                 *counts    // the series of a route without client_id, else nil
	clientIx              int        // the route's index among client-labelled routes
	classifier            Classifier // nil: the common rule
	lastReq               msgshape.Last
}

// classify returns the route's classifier's verdict, Default without one.
// It may panic; the lifecycle recovers.
func (r *milvusRoute) classify(resp any, err error) Outcome {
	if r.classifier == nil {
		return Default
	}
	return r.classifier(resp, err)
}

// MilvusOption configures [NewMilvusCounters]: [WithClientID],
// [WithClientLimit] or [WithOutcome]. No other constructor takes it.
type MilvusOption interface {
	applyMilvus(*milvusConfig)
}

// milvusOptionFunc is a [MilvusOption].
type milvusOptionFunc func(*milvusConfig)

func (f milvusOptionFunc) applyMilvus(c *milvusConfig) { f(c) }

// milvusConfig is what the options of [NewMilvusCounters] set.
type milvusConfig struct {
	outcomes    map[string]Classifier
	clientID    ClientIDFunc // nil: the default rule
	clientIDSet bool
	clientLimit int
}

// DefaultClientLimit is the number of distinct client_id values an
// [MilvusCounters] tracks unless [WithClientLimit] says otherwise. Milvus
// clusters run tens of proxies and coordinators; 1024 leaves room for churn
// while bounding the series a hostile SourceID flood can create to 1024 per
// client-labelled method and call label value.
const DefaultClientLimit = 1024

// MaxClientLimit is the largest limit [WithClientLimit] accepts.
const MaxClientLimit = 1 << 20

// WithOutcome overrides the outcome rule for one full method name, which must
// be in the method map. Milvus, for example, counted DescribeIndex's "index
// does not exist" as a success:
//
//	interceptor.WithOutcome("/milvus.proto.milvus.MilvusService/DescribeIndex",
//		func(resp any, err error) interceptor.Outcome {
//			r, ok := resp.(*milvuspb.DescribeIndexResponse)
//			if ok && r.GetStatus().GetErrorCode() == commonpb.ErrorCode_IndexNotExist {
//				return interceptor.Success
//			}
//			return interceptor.Default
//		})
//
// A panic in the classifier is recovered, logged and counted as fail; the
// handler's response and error still reach the caller unchanged. Given
// twice for one method, the last one wins; a nil classifier is an error.
func WithOutcome(fullMethod string, classify Classifier) MilvusOption {
	return milvusOptionFunc(func(c *milvusConfig) {
		if c.outcomes == nil {
			c.outcomes = make(map[string]Classifier)
		}
		c.outcomes[fullMethod] = classify
	})
}

// WithClientID sets the rule that names a call's client on client-labelled
// routes ([methodmap.ClientTypeScheme], the RootCoord counters), replacing
// the default rule (see [NewMilvusCounters]). [MilvusSourceID] builds one for Milvus-style
// requests; any function will do. It is called once per call of such a
// route, before the handler, with the call's context and request (see
// [ClientIDFunc]); other routes never call it. The client limit applies to
// its values too. A nil fn is an error; only [NewMilvusCounters] takes it.
func WithClientID(fn ClientIDFunc) MilvusOption {
	return milvusOptionFunc(func(c *milvusConfig) { c.clientID, c.clientIDSet = fn, true })
}

// WithClientLimit sets how many distinct client_id values are tracked, from 1
// to [MaxClientLimit]; the default is [DefaultClientLimit]. Calls from further
// clients are counted under [registry.OverflowClientLabel], and each such call
// increments grpcmetrics_client_id_overflow_total (a call whose own client
// is [Label](registry.OverflowClientLabel) does not). The fixed values do not
// count towards the limit, and [MilvusCounters.RemoveClient] frees a slot.
// Only [NewMilvusCounters] takes it.
func WithClientLimit(n int) MilvusOption {
	return milvusOptionFunc(func(c *milvusConfig) { c.clientLimit = n })
}

// newMilvusConfig applies and checks the options of NewMilvusCounters.
func newMilvusConfig(m *methodmap.Map, opts []MilvusOption) (*milvusConfig, error) {
	if m == nil {
		return nil, errors.New("interceptor: nil method map")
	}
	c := &milvusConfig{clientLimit: DefaultClientLimit}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("interceptor: option %d is nil", i)
		}
		o.applyMilvus(c)
	}
	var errs []error
	for _, method := range slices.Sorted(maps.Keys(c.outcomes)) {
		if c.outcomes[method] == nil {
			errs = append(errs, fmt.Errorf("WithOutcome: nil classifier for %s", method))
		}
		if _, ok := m.Lookup(method); !ok {
			errs = append(errs, fmt.Errorf("WithOutcome: %s is not in the method map", method))
		}
	}
	if c.clientIDSet && c.clientID == nil {
		errs = append(errs, errors.New("WithClientID: nil function"))
	}
	if c.clientLimit < 1 || c.clientLimit > MaxClientLimit {
		errs = append(errs, fmt.Errorf("WithClientLimit: %d is out of range [1, %d]", c.clientLimit, MaxClientLimit))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("interceptor: %w", err)
	}
	return c, nil
}

// Outcome is the judgement of one call.
type Outcome uint8

const (
	// Default asks for the default rule: fail on an error or a failing
	// status, success otherwise.
	Default Outcome = iota
	// Success counts the call as success.
	Success
	// Fail counts the call as fail.
	Fail
)

// Classifier judges one finished call of the method given to [WithOutcome].
// It is called once per call that returns, with resp and err as the handler
// (and any interceptor inside this one) returned them: for a unary call, the
// response (usually nil when err is not nil); for a stream, resp is nil. It
// is not called when the handler panics; the call is then fail.
//
// It returns [Success] or [Fail] to decide, or [Default] to apply the rule
// of every other method: fail on an error, otherwise the status rule
// ([WithStatus] or the default rule). Any other value counts as [Default].
// It must be safe for concurrent use, and should not allocate if the
// interceptor is to stay allocation-free. A panic in it is recovered, logged
// through [WithLogger] and counts the call as fail; resp and err still reach
// the caller unchanged.
type Classifier func(resp any, err error) Outcome

// counts are the series that one call increments: total when it starts,
// then success or fail when it ends.
type counts struct {
	total, success, fail prometheus.Counter
}

func newCounts(vec *prometheus.CounterVec, clientLabel string) *counts {
	// clientLabel is valid UTF-8 (see sanitizeLabel) and vec's label names
	// were checked by methodmap, so WithLabelValues cannot panic here.
	return &counts{
		total:   vec.WithLabelValues(clientLabel, registry.TotalLabel),
		success: vec.WithLabelValues(clientLabel, registry.SuccessLabel),
		fail:    vec.WithLabelValues(clientLabel, registry.FailLabel),
	}
}

// began counts a call as total.
func (cs *counts) began() { cs.total.Inc() }

// ended counts a call as success or fail.
func (cs *counts) ended(fail bool) {
	c := cs.success
	if fail {
		c = cs.fail
	}
	c.Inc()
}

// NewMilvusCounters builds Milvus v2.0's counters over m. Without options it:
//   - judges a call fail if the handler returns an error, panics, or returns
//     a response that is a Milvus status or has a "status" field holding
//     one (a protobuf message named Status with a non-zero enum
//     "error_code" or a non-zero integer "code"), and success otherwise;
//   - labels client-labelled (RootCoord) calls with client_id
//     "client_<SourceID>", from the request's "base" message field and its
//     "sourceID" field, or with [registry.UnknownClientLabel] when there is
//     no base;
//   - tracks at most [DefaultClientLimit] client IDs.
//
// These default rules read protobuf messages of today's protoc-gen-go, of
// the old APIv1 generators that Milvus used, and of dynamicpb; a value they
// cannot read has no status and no SourceID. [WithStatus] and
// [WithClientID] replace them, for example with [MilvusStatus] and
// [MilvusSourceID] over the caller's generated types.
//
// NewMilvusCounters returns an error naming every problem: a nil map or option, an
// outcome rule for a method the map does not have, a nil function, or a
// client limit out of range.
func NewMilvusCounters(m *methodmap.Map, opts ...MilvusOption) (*MilvusCounters, error) {
	cfg, err := newMilvusConfig(m, opts)
	if err != nil {
		return nil, err
	}
	i := &MilvusCounters{
		routes:   make(map[string]*milvusRoute, m.Len()),
		clientID: cfg.clientID,
	}
	var vecs []*prometheus.CounterVec
	for _, e := range m.Entries() {
		svc, name := splitMethod(e.Method)
		r := &milvusRoute{method: e.Method, service: svc, name: name, classifier: cfg.outcomes[e.Method]}
		if e.Scheme == methodmap.ClientTypeScheme {
			r.clientIx = len(vecs)
			vecs = append(vecs, e.Counter)
		} else {
			r.fixed = &counts{total: e.Total, success: e.Success, fail: e.Fail}
		}
		i.routes[e.Method] = r
	}
	i.overflowTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "grpcmetrics",
		Name:      "client_id_overflow_total",
		Help:      `Calls of untracked clients counted under client_id="` + registry.OverflowClientLabel + `" because the client limit was reached; calls whose own client_id is "` + registry.OverflowClientLabel + `" are not included.`,
	})
	i.clients = newClientTable(cfg.clientLimit, vecs, i.overflowTotal)
	i.tracked = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "grpcmetrics",
		Name:      "client_ids",
		Help:      "Distinct client_id values currently tracked by the interceptor, fixed values excluded.",
	}, func() float64 { return float64(i.clients.values.len()) })
	i.metrics = &setCollector{cs: []prometheus.Collector{i.overflowTotal, i.tracked}}
	return i, nil
}

// clientCounts returns the series of a call of the client-labelled route r,
// for the client that the client rule names, or for the unknown client if
// the call is unidentified: if the rule panicked for it already. It may
// panic (in a [ClientIDFunc] or the default rule); the engine recovers,
// logs, and asks again, unidentified.
func (i *MilvusCounters) clientCounts(ctx context.Context, req any, r *milvusRoute, unidentified bool) *counts {
	var id ClientID
	switch {
	case unidentified:
	case i.clientID != nil:
		id = i.clientID(ctx, req)
	default:
		if sid, found := i.shapes.SourceID(&r.lastReq, req); found {
			id = SourceID(sid)
		}
	}
	return i.clients.counts(id, r.clientIx)
}

// RemoveClient forgets the client id, the same [ClientID] that the client
// rule gives for its calls, such as [SourceID](42), and deletes the series
// of its client_id value ([ClientID.String], here "client_42") from every
// client-labelled counter, so that a client that left for good leaves no
// series behind. It reports whether anything was removed. Every ID that
// exports the same value is the same client (see [Label]), so
// Label("client_42") removes it too; Label("42") is another client. Call it
// together with the registry's RootCoord.RemoveProxy (which takes the
// value, id.String()) when a proxy's session ends. Every call that starts
// after RemoveClient returns is counted, in new series; a call of that
// client still in flight may count into a deleted series. The fixed clients,
// [registry.UnknownClientLabel] and [registry.OverflowClientLabel], are never
// removed: for them RemoveClient reports false.
func (i *MilvusCounters) RemoveClient(id ClientID) bool {
	return i.clients.remove(id)
}

// client is one client_id value with its series per client-labelled route,
// resolved on the client's first call of each route.
type client struct {
	label  string
	routes []atomic.Pointer[counts]

	// The SourceID that keys the client in bySource too, if any; guarded
	// by the values' mu.
	sourceID  int64
	hasSource bool
}

// clientTable holds the clients of the client-labelled routes: client_id
// values bounded by [boundedValues], plus the fixed unknown and overflow
// clients.
//
// A client is one exported client_id value: values holds every client by
// that value (the fixed ones too), and bySource holds, by SourceID, those
// that a [SourceID] has named, so that a SourceID's call finds its client
// without formatting its label. [Label]("client_7") and [SourceID](7) reach
// the same client, which is admitted once, by its label. A client's
// resolved series are read through an atomic pointer, and resolved, like
// everything that adds or deletes series, under the values' mutex.
type clientTable struct {
	vecs     []*prometheus.CounterVec // the client-labelled routes' counters
	values   *boundedValues[string, client]
	bySource sync.Map // int64 → *client, also in values
	unknown  *client
}

func newClientTable(limit int, vecs []*prometheus.CounterVec, overflowTotal prometheus.Counter) *clientTable {
	t := &clientTable{vecs: vecs}
	overflowing := t.newClient(registry.OverflowClientLabel)
	t.values = newBoundedValues[string](limit, overflowing, overflowTotal)
	t.unknown = t.newClient(registry.UnknownClientLabel)
	// A Label equal to a fixed label is that fixed client. (Label gives
	// the zero ClientID for the unknown label; storing both is simpler.)
	t.values.fix(t.unknown.label, t.unknown)
	t.values.fix(overflowing.label, overflowing)
	return t
}

// newClient makes the client labelled label, with no series resolved.
func (t *clientTable) newClient(label string) *client {
	return &client{label: label, routes: make([]atomic.Pointer[counts], len(t.vecs))}
}

// counts returns the series of id's call of client-labelled route ix.
func (t *clientTable) counts(id ClientID, ix int) *counts {
	if c := t.lookup(id); c != nil {
		if cs := c.routes[ix].Load(); cs != nil {
			return cs
		}
	}
	return t.resolve(id, ix)
}

// lookup returns the client of id if it is tracked (or fixed), else nil.
func (t *clientTable) lookup(id ClientID) *client {
	switch id.kind {
	case sourceClient:
		if v, ok := t.bySource.Load(id.sourceID); ok {
			return v.(*client)
		}
		return nil
	case labelClient:
		c, _ := t.values.load(id.label) // exported already: see Label
		return c
	}
	return t.unknown
}

// resolve admits id if it is new and resolves its series of route ix.
func (t *clientTable) resolve(id ClientID, ix int) *counts {
	t.values.mu.Lock()
	defer t.values.mu.Unlock()
	c := t.admitLocked(id)
	if cs := c.routes[ix].Load(); cs != nil {
		return cs
	}
	cs := newCounts(t.vecs[ix], c.label)
	c.routes[ix].Store(cs)
	return cs
}

// admitLocked returns the client of id: the client of its label if there
// is one, else a new one if the limit allows, else the overflow client. A
// SourceID is added to bySource beside its label.
func (t *clientTable) admitLocked(id ClientID) *client {
	if c := t.lookup(id); c != nil {
		return c
	}
	label := id.String()
	c, ok := t.values.load(label) // a SourceID whose label a Label admitted
	if !ok {
		// Clone: the table outlives the call, and a label may share
		// memory with the request (Label cuts without copying).
		label = strings.Clone(label)
		c = t.values.admitLocked(label, func() *client { return t.newClient(label) })
	}
	if id.kind == sourceClient && c != t.values.overflow {
		c.sourceID, c.hasSource = id.sourceID, true
		t.bySource.Store(id.sourceID, c)
	}
	return c
}

// remove forgets the client of id, under every key that reaches it, and
// deletes the series of its label, and reports whether there was anything
// to remove. The fixed clients stay.
func (t *clientTable) remove(id ClientID) bool {
	label := id.String()
	if label == registry.UnknownClientLabel || label == registry.OverflowClientLabel {
		return false
	}
	t.values.mu.Lock()
	defer t.values.mu.Unlock()
	c, removed := t.values.removeLocked(label)
	if removed && c.hasSource {
		t.bySource.Delete(c.sourceID)
	}
	for _, vec := range t.vecs {
		if vec.DeletePartialMatch(prometheus.Labels{registry.LabelClientID: label}) > 0 {
			removed = true
		}
	}
	return removed
}
